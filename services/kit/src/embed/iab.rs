//! Zero-shot IAB Content Taxonomy tier-1 classification: [`IAB_TIER1`] and [`ZeroShot`].

use std::sync::Arc;

use super::{Category, EmbedError, TextEmbedder};

/// One tier-1 category of the IAB Content Taxonomy 3.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IabCategory {
    /// The taxonomy's unique id (numeric for categories carried over from 2.x, six
    /// characters for those new in 3.0, e.g. `JLBCU7`).
    pub id: &'static str,
    /// The taxonomy's name.
    pub name: &'static str,
    /// What [`ZeroShot`] compares texts with: the category's name, a colon, then typical
    /// English vocabulary of texts about it, comma-separated. Our own wording, not IAB's.
    pub description: &'static str,
}

impl IabCategory {
    /// The comma-separated terms after the description's colon.
    pub fn terms(&self) -> impl Iterator<Item = &'static str> {
        let list = self
            .description
            .split_once(':')
            .map_or(self.description, |(_, terms)| terms);
        list.split(',').map(str::trim).filter(|t| !t.is_empty())
    }
}

/// Every tier-1 category of the IAB Tech Lab's Content Taxonomy 3.0, by name: its unique ids
/// and names as in `Content Taxonomies/Content Taxonomy 3.0.tsv` of the Tech Lab's
/// `InteractiveAdvertisingBureau/Taxonomies` repository on GitHub (the rows whose `Tier 2`
/// column is empty; a 3.0 row is looked up there before an id is changed here). 3.0 dropped
/// 2.x's "News and Politics" (379), "Music and Audio" (338), "Movies" (324), "Television"
/// (640) and "Events and Attractions" as tier 1: Crime, Disasters, Law, Politics and War
/// and Conflicts stand alone; Movies, Music and Television are tier 2 of Entertainment;
/// Attractions, Events, Holidays and Personal Celebrations & Life Events are split. The
/// file gives Maps & Navigation and Productivity parent 602 (Software and Applications) but
/// lists them as tier 1, as here. The descriptions are ours (see [`IabCategory::description`]).
pub const IAB_TIER1: &[IabCategory] = &[
    IabCategory {
        id: "150",
        name: "Attractions",
        description: "attractions: theme parks, amusement parks, rides, museums, galleries, zoos, aquariums, landmarks, historic sites, monuments, casinos, nightclubs, sightseeing, visitors, admission tickets",
    },
    IabCategory {
        id: "1",
        name: "Automotive",
        description: "automotive: cars, vehicles, trucks, SUVs, motorcycles, engines, driving, car dealers, car repair, mechanics, electric vehicles, horsepower, test drive",
    },
    IabCategory {
        id: "42",
        name: "Books and Literature",
        description: "books and literature: books, novels, authors, writers, fiction, poetry, poems, comics, graphic novels, reading, chapters, publishers, bestsellers, libraries",
    },
    IabCategory {
        id: "52",
        name: "Business and Finance",
        description: "business and finance: companies, corporations, revenue, profits, earnings, shares, stock market, investors, economy, industry, mergers, startups, CEO, quarterly results",
    },
    IabCategory {
        id: "123",
        name: "Careers",
        description: "careers: jobs, job search, resumes, job interviews, hiring, recruiters, employers, employees, salary, promotion, internships, apprenticeships, career advice, remote work",
    },
    IabCategory {
        id: "80DV8O",
        name: "Communication",
        description: "communication: messaging apps, chat apps, email, phone calls, video calls, text messages, voicemail, contact lists, inbox, instant messaging",
    },
    IabCategory {
        id: "380",
        name: "Crime",
        description: "crime: police, arrests, criminals, murder, robbery, theft, burglary, fraud, investigation, detectives, suspects, victims, prison, gangs",
    },
    IabCategory {
        id: "381",
        name: "Disasters",
        description: "disasters: earthquakes, floods, hurricanes, wildfires, tornadoes, tsunamis, volcanic eruptions, storms, evacuation, emergency services, rescue, damage, casualties",
    },
    IabCategory {
        id: "132",
        name: "Education",
        description: "education: schools, students, pupils, teachers, classrooms, lessons, university, college, admissions, homework, exams, learning, courses, degrees, tuition",
    },
    IabCategory {
        id: "JLBCU7",
        name: "Entertainment",
        description: "entertainment: movies, films, cinema, television, TV shows, series, actors, directors, music, songs, albums, bands, singers, musicians, concerts, streaming",
    },
    IabCategory {
        id: "8VZQHL",
        name: "Events",
        description: "events: awards shows, conferences, conventions, expos, trade shows, fan conventions, festivals, ceremonies, keynote, exhibitors, attendees",
    },
    IabCategory {
        id: "186",
        name: "Family and Relationships",
        description: "family and relationships: parents, parenting, children, kids, babies, toddlers, marriage, dating, divorce, couples, siblings, grandparents, eldercare, adoption",
    },
    IabCategory {
        id: "201",
        name: "Fine Art",
        description: "fine art: painting, paintings, sculpture, artists, art galleries, exhibitions, ballet, dance, opera, theater, modern art, design, canvas",
    },
    IabCategory {
        id: "210",
        name: "Food & Drink",
        description: "food and drink: cooking, recipes, ingredients, kitchen, baking, restaurants, dining, meals, chefs, cuisine, wine, beer, coffee, desserts",
    },
    IabCategory {
        id: "SPSHQ5",
        name: "Genres",
        description: "genres: comedy, drama, horror, documentary, animation, anime, romance, science fiction, fantasy, mystery, thriller, western, true crime, musicals, action and adventure",
    },
    IabCategory {
        id: "223",
        name: "Healthy Living",
        description: "healthy living: fitness, exercise, workouts, gym, running, jogging, nutrition, healthy diet, weight loss, wellness, yoga, meditation, stretching",
    },
    IabCategory {
        id: "239",
        name: "Hobbies & Interests",
        description: "hobbies and interests: crafts, knitting, sewing, woodworking, drawing, photography, collecting, stamps, coins, board games, card games, puzzles, magic tricks, model kits, birdwatching",
    },
    IabCategory {
        id: "1KXCLD",
        name: "Holidays",
        description: "holidays: Christmas, Thanksgiving, Easter, Halloween, New Year's Eve, Independence Day, Hanukkah, Diwali, national and civic holidays, holiday traditions",
    },
    IabCategory {
        id: "274",
        name: "Home & Garden",
        description: "home and garden: gardening, plants, flowers, lawn, landscaping, home improvement, DIY, renovation, furniture, interior decorating, home appliances, smart home",
    },
    IabCategory {
        id: "383",
        name: "Law",
        description: "law: lawyers, attorneys, courts, judges, legislation, lawsuits, legal rights, contracts, regulations, constitution, verdict, legal advice",
    },
    IabCategory {
        id: "WQC6HR",
        name: "Maps & Navigation",
        description: "maps and navigation: maps, GPS, directions, routes, navigation apps, turn-by-turn, addresses, traffic, location, distance",
    },
    IabCategory {
        id: "286",
        name: "Medical Health",
        description: "medical health: doctors, hospitals, patients, diseases, illness, symptoms, treatment, medicine, prescriptions, surgery, cancer, diabetes, vaccines, diagnosis",
    },
    IabCategory {
        id: "163",
        name: "Personal Celebrations & Life Events",
        description: "personal celebrations and life events: weddings, brides, birthdays, birthday parties, anniversaries, graduations, baby showers, funerals, prom, bachelor parties",
    },
    IabCategory {
        id: "391",
        name: "Personal Finance",
        description: "personal finance: savings, budgeting, bank accounts, credit cards, personal loans, mortgages, debt, personal taxes, retirement, pensions, insurance, investing money",
    },
    IabCategory {
        id: "422",
        name: "Pets",
        description: "pets: dogs, cats, puppies, kittens, pet food, veterinarians, vets, pet birds, fish tanks, hamsters, pet adoption, grooming, dog walking",
    },
    IabCategory {
        id: "386",
        name: "Politics",
        description: "politics: government, elections, voting, voters, politicians, president, prime minister, parliament, congress, political parties, campaigns, policy, senators",
    },
    IabCategory {
        id: "432",
        name: "Pop Culture",
        description: "pop culture: celebrities, celebrity gossip, famous stars, scandals, red carpet, fans, viral trends, memes, tabloids, humor and satire",
    },
    IabCategory {
        id: "W3CW2J",
        name: "Productivity",
        description: "productivity: productivity apps, to-do lists, calendars, note taking, spreadsheets, documents, office software, time management, scheduling, reminders",
    },
    IabCategory {
        id: "441",
        name: "Real Estate",
        description: "real estate: houses, homes for sale, apartments, property, realtors, estate agents, renting, leasing, landlords, tenants, mortgages, listings",
    },
    IabCategory {
        id: "453",
        name: "Religion & Spirituality",
        description: "religion and spirituality: God, faith, church, prayer, Christianity, Islam, Judaism, Buddhism, Hinduism, bible, mosque, temple, spirituality, astrology",
    },
    IabCategory {
        id: "464",
        name: "Science",
        description: "science: scientists, research, experiments, physics, chemistry, biology, genetics, geology, space, astronomy, planets, stars, telescopes, weather, climate",
    },
    IabCategory {
        id: "v9i3On",
        name: "Sensitive Topics",
        description: "sensitive topics: graphic violence, firearms, ammunition, illegal drugs, tobacco, vaping, hate speech, terrorism, explicit sexual content, obscenity, profanity, online piracy, spam",
    },
    IabCategory {
        id: "473",
        name: "Shopping",
        description: "shopping: shops, stores, buying, products, prices, discounts, coupons, sales, deals, online shopping, groceries, gifts, retail, checkout",
    },
    IabCategory {
        id: "483",
        name: "Sports",
        description: "sports: athletes, players, teams, coach, matches, season, championship, league, tournament, football, soccer, basketball, baseball, tennis, golf, scores, goals, wins, stadium, fans",
    },
    IabCategory {
        id: "552",
        name: "Style & Fashion",
        description: "style and fashion: clothing, clothes, dresses, shoes, fashion trends, designers, models, runway, beauty, makeup, hair care, skin care, jewelry, accessories",
    },
    IabCategory {
        id: "596",
        name: "Technology & Computing",
        description: "technology and computing: computers, software, software updates, hardware, devices, programming, code, apps, internet, smartphones, laptops, processors, operating systems, artificial intelligence, machine learning, data, cloud computing, gadgets, electronics",
    },
    IabCategory {
        id: "653",
        name: "Travel",
        description: "travel: trips, vacations, tourists, tourism, flights, airports, hotels, destinations, sightseeing, beaches, cruises, luggage, passports, abroad",
    },
    IabCategory {
        id: "680",
        name: "Video Gaming",
        description: "video gaming: video games, gamers, consoles, PlayStation, Xbox, Nintendo, PC games, mobile games, esports, gameplay, levels, multiplayer",
    },
    IabCategory {
        id: "389",
        name: "War and Conflicts",
        description: "war and conflicts: war, military, soldiers, army, troops, battles, invasion, armed conflict, airstrikes, bombing, ceasefire, peace talks",
    },
];

/// The category with this unique id, if it is one of [`IAB_TIER1`].
pub fn iab_tier1(id: &str) -> Option<&'static IabCategory> {
    IAB_TIER1.iter().find(|c| c.id == id)
}

/// Zero-shot classification into [`IAB_TIER1`] by sentence embeddings: each category is a
/// prototype embedding made once from its description, and a text's categories are those
/// whose prototypes are most similar (cosine) to the text's embedding.
///
/// A prototype is the normalised sum of the whole description's embedding and the mean of
/// its terms' embeddings (each term, e.g. "football", embedded alone). Measured on 54 short
/// topical sentences, that put 53 in their category first, against 50 for the description
/// alone, and separated on-topic from off-topic texts better than either alone.
///
/// Scores are low in absolute terms (the model was not trained for keyword lists):
/// see [`ZeroShot::DEFAULT_MIN_SCORE`].
#[derive(Debug)]
pub struct ZeroShot {
    embedder: Arc<TextEmbedder>,
    categories: Vec<(&'static IabCategory, Vec<f32>)>,
}

impl ZeroShot {
    /// The `min_score` to pass to [`ZeroShot::classify`] unless a caller knows better: 0.25.
    ///
    /// Measured with these descriptions: for 54 short topical sentences (one per line of
    /// a transcript, say), the expected category scored 0.16 to 0.57, median 0.37, and at
    /// least 0.25 for 83% of them; for 24 lines of small talk with no topic ("Okay, let's get
    /// started."), the best category scored 0.10 to 0.35, median 0.19, and below 0.25 for
    /// 88% of them. Longer texts separate better: two to four on-topic sentences together scored
    /// 0.29 to 0.57 (median 0.44), four lines of small talk together at most 0.26. A lower
    /// threshold lets small talk through (0.20 rejects only 54% of it), a higher one loses
    /// real topics (0.30 keeps 69% of them). The test `report_scores_and_timings` in
    /// `tests/embed.rs` prints the same measurement on its own texts.
    pub const DEFAULT_MIN_SCORE: f64 = 0.25;

    /// A classifier over all of [`IAB_TIER1`]: embeds their descriptions and terms (about
    /// 600 short texts: 1.5 s in a release build).
    pub fn new(embedder: Arc<TextEmbedder>) -> Result<ZeroShot, EmbedError> {
        Self::with_categories(embedder, IAB_TIER1.iter())
    }

    /// A classifier over some categories only (e.g. [`IAB_TIER1`] less the ones a product
    /// never shows).
    pub fn with_categories(
        embedder: Arc<TextEmbedder>,
        categories: impl IntoIterator<Item = &'static IabCategory>,
    ) -> Result<ZeroShot, EmbedError> {
        let categories: Vec<&'static IabCategory> = categories.into_iter().collect();
        // Everything in one call, so texts of like lengths share batches.
        let mut texts = Vec::new();
        for category in &categories {
            texts.push(category.description);
            texts.extend(category.terms());
        }
        let mut embeddings = embedder.embed(&texts)?.into_iter();
        let mut prototypes = Vec::with_capacity(categories.len());
        for category in categories {
            let mut prototype = embeddings.next().unwrap_or_default();
            let mut mean = vec![0f32; prototype.len()];
            for term in embeddings.by_ref().take(category.terms().count()) {
                mean.iter_mut().zip(&term).for_each(|(m, t)| *m += t);
            }
            if mean.iter().any(|m| *m != 0.0) {
                normalise(&mut mean);
                prototype.iter_mut().zip(&mean).for_each(|(p, m)| *p += m);
            }
            normalise(&mut prototype);
            prototypes.push((category, prototype));
        }
        Ok(ZeroShot {
            embedder,
            categories: prototypes,
        })
    }

    /// The `top` categories (tier 1) most similar to `text`, best first, leaving out those
    /// scoring below `min_score` (cosine similarity; see [`ZeroShot::DEFAULT_MIN_SCORE`]).
    /// A text that is empty or only whitespace has no categories.
    pub fn classify(
        &self,
        text: &str,
        top: usize,
        min_score: f64,
    ) -> Result<Vec<Category>, EmbedError> {
        if text.trim().is_empty() || top == 0 {
            return Ok(Vec::new());
        }
        let embedding = self.embedder.embed_one(text)?;
        Ok(self.classify_embedding(&embedding, top, min_score))
    }

    /// [`ZeroShot::classify`] for a text already embedded with this classifier's
    /// [`TextEmbedder`].
    pub fn classify_embedding(
        &self,
        embedding: &[f32],
        top: usize,
        min_score: f64,
    ) -> Vec<Category> {
        let mut scored: Vec<Category> = self
            .categories
            .iter()
            .map(|(category, prototype)| Category {
                id: category.id.to_string(),
                name: category.name.to_string(),
                tier: 1,
                score: f64::from(dot(embedding, prototype)),
            })
            .filter(|c| c.score >= min_score)
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        scored.truncate(top);
        scored
    }

    /// The embedder this classifier embeds texts with.
    pub fn embedder(&self) -> &Arc<TextEmbedder> {
        &self.embedder
    }

    /// The categories this classifier chooses from.
    pub fn categories(&self) -> impl Iterator<Item = &'static IabCategory> + '_ {
        self.categories.iter().map(|(c, _)| *c)
    }
}

/// The dot product: the cosine similarity of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}
