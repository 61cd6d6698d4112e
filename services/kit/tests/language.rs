//! The local language backend (`mediasift yake+vader`) on real text: a LibriVox-like passage
//! (A Study in Scarlet, read as an audiobook would be transcribed), a news paragraph, clearly
//! positive, negative and mixed sentences, an unpunctuated lower-case transcript, empty
//! documents and other languages.

use mediasift_kit::language::local::{self, ENGINE, MAX_KEYPHRASES};
use mediasift_kit::language::{
    DocumentLanguage, Entity, LanguageBackend, LanguageError, LocalLanguage,
};

const LIBRIVOX: &str = "In the year 1878 I took my degree of Doctor of Medicine of the \
    University of London. I had neither kith nor kin in England, and so I stayed for some \
    time at a private hotel in the Strand, leading a comfortable, meaningless existence. It \
    was there that I first met Mr. Sherlock Holmes, who was then living in London in rooms \
    at Baker Street. Holmes was a man of strange habits. His knowledge of chemistry was \
    profound, and his knowledge of sensational literature immense. Sherlock Holmes seemed \
    delighted at the idea of sharing his rooms with me.";

const NEWS: &str = "Acme Corporation said on Tuesday that it would cut 1,200 jobs in \
    Germany after profits fell 20 percent in the third quarter. Chief executive Jane Smith \
    told analysts in Frankfurt that the company expected demand for electric vehicles to \
    recover in 2025. Shares in Acme Corporation fell 8% in early trading, wiping $3 billion \
    off the company's market value. The job cuts will mostly affect the battery plant near \
    Berlin, the company said.";

async fn analyse(documents: &[&str]) -> Vec<DocumentLanguage> {
    let documents: Vec<String> = documents.iter().map(|d| (*d).to_owned()).collect();
    let results = LocalLanguage::new()
        .analyse(&documents, "en-US")
        .await
        .expect("English is analysed");
    assert_eq!(results.len(), documents.len(), "one result per document");
    results
}

fn entity<'a>(entities: &'a [Entity], text: &str) -> &'a Entity {
    entities
        .iter()
        .find(|e| e.text == text)
        .unwrap_or_else(|| panic!("no entity {text:?} in {entities:#?}"))
}

fn keyphrase_texts(result: &DocumentLanguage) -> Vec<String> {
    result
        .keyphrases
        .iter()
        .map(|k| k.text.to_lowercase())
        .collect()
}

#[tokio::test]
async fn audiobook_passage() {
    let result = analyse(&[LIBRIVOX]).await.remove(0);

    let phrases = keyphrase_texts(&result);
    assert!(
        !phrases.is_empty() && phrases.len() <= MAX_KEYPHRASES,
        "{phrases:?}"
    );
    for expected in ["sherlock holmes", "baker street"] {
        assert!(
            phrases.iter().any(|p| p.contains(expected)),
            "{expected:?} in {phrases:?}"
        );
    }
    assert!(
        result
            .keyphrases
            .windows(2)
            .all(|w| w[0].score >= w[1].score),
        "best first: {:?}",
        result.keyphrases
    );
    assert!(
        result
            .keyphrases
            .iter()
            .all(|k| k.score > 0.0 && k.score <= 1.0)
    );

    let entities = &result.entities;
    let holmes = entity(entities, "Mr. Sherlock Holmes");
    assert_eq!(holmes.kind, "PERSON");
    assert!(holmes.score >= 0.9, "{holmes:?}");
    assert_eq!(entity(entities, "Holmes").kind, "PERSON", "{entities:#?}");
    assert_eq!(entity(entities, "Sherlock Holmes").kind, "PERSON");
    let london = entity(entities, "London");
    assert_eq!(london.kind, "LOCATION");
    assert_eq!(entity(entities, "England").kind, "LOCATION");
    assert_eq!(entity(entities, "Baker Street").kind, "LOCATION");
    assert_eq!(
        entity(entities, "University of London").kind,
        "ORGANIZATION"
    );
    assert_eq!(entity(entities, "1878").kind, "DATE");
    assert!(
        !entities.iter().any(|e| matches!(
            e.text.as_str(),
            "In" | "It" | "His" | "I" | "The" | "Doctor"
        )),
        "sentence starts and pronouns are not entities: {entities:#?}"
    );
    assert!(
        entities.iter().all(|e| e.score > 0.0 && e.score < 1.0),
        "{entities:#?}"
    );

    let sentiment = result.sentiment.expect("a sentiment");
    let total = sentiment.positive + sentiment.negative + sentiment.neutral + sentiment.mixed;
    assert!((total - 1.0).abs() < 1e-9, "{sentiment:?}");
}

#[tokio::test]
async fn news_paragraph() {
    let result = analyse(&[NEWS]).await.remove(0);

    let phrases = keyphrase_texts(&result);
    assert!(
        phrases.iter().any(|p| p.contains("acme corporation")),
        "{phrases:?}"
    );

    let entities = &result.entities;
    let kind = |text: &str| entity(entities, text).kind.as_str();
    assert_eq!(kind("Acme Corporation"), "ORGANIZATION");
    assert_eq!(kind("Tuesday"), "DATE");
    assert_eq!(kind("2025"), "DATE");
    assert_eq!(kind("Germany"), "LOCATION");
    assert_eq!(kind("Frankfurt"), "LOCATION");
    assert_eq!(kind("Berlin"), "LOCATION");
    assert_eq!(kind("20 percent"), "QUANTITY");
    assert_eq!(kind("8%"), "QUANTITY");
    assert_eq!(kind("$3 billion"), "QUANTITY");
    assert_eq!(
        kind("Jane Smith"),
        "OTHER",
        "no NER model: a bare name is OTHER"
    );
    // Twice mentioned: one entity, scored higher than one mention would be.
    assert_eq!(
        entities
            .iter()
            .filter(|e| e.text == "Acme Corporation")
            .count(),
        1
    );
    assert!(entity(entities, "Acme Corporation").score > 0.85);
    assert!(
        !entities
            .iter()
            .any(|e| matches!(e.text.as_str(), "Shares" | "Chief" | "The")),
        "{entities:#?}"
    );
}

#[tokio::test]
async fn clearly_positive_negative_and_mixed() {
    let results = analyse(&[
        "I absolutely love this wonderful, beautiful day. Everything is great and I am so happy!",
        "This is a terrible, horrible disaster. I hate it and I am very angry.",
        "The food was wonderful and delicious, but the service was terrible and rude.",
        "The train leaves the station at nine and arrives in the city an hour later.",
        // Scored whole, VADER's "but" rule would halve the praise and call this -0.97.
        "The weather was nice and the hotel was lovely. The staff were kind and the \
         breakfast was good. But then my wallet was stolen and the police were useless and \
         rude. The trip was ruined, a total disaster, and I was furious.",
    ])
    .await;
    let labels: Vec<&str> = results
        .iter()
        .map(|r| r.sentiment.as_ref().unwrap().label.as_str())
        .collect();
    assert_eq!(
        labels,
        ["POSITIVE", "NEGATIVE", "MIXED", "NEUTRAL", "MIXED"]
    );

    let positive = results[0].sentiment.as_ref().unwrap();
    assert!(positive.positive > positive.negative, "{positive:?}");
    let negative = results[1].sentiment.as_ref().unwrap();
    assert!(negative.negative > negative.positive, "{negative:?}");
    let mixed = results[2].sentiment.as_ref().unwrap();
    assert!(mixed.mixed > 0.2, "{mixed:?}");
    let neutral = results[3].sentiment.as_ref().unwrap();
    assert!((neutral.neutral - 1.0).abs() < 1e-9, "{neutral:?}");
}

#[tokio::test]
async fn unpunctuated_lower_case_transcript() {
    // As pocketsphinx writes a window: no capitals, no punctuation.
    let transcript = "well i think the weather today is absolutely lovely and the garden \
        looks beautiful the roses are blooming and the children are playing happily on the \
        lawn while the old dog sleeps in the sun by the kitchen door and nobody is in any \
        hurry at all this afternoon because it is a wonderful holiday";
    let result = analyse(&[transcript]).await.remove(0);
    assert_eq!(result.sentiment.unwrap().label, "POSITIVE");
    assert!(
        result.entities.is_empty(),
        "no capitals, no entities: {:?}",
        result.entities
    );
    assert!(!result.keyphrases.is_empty());
}

#[tokio::test]
async fn empty_documents_give_empty_results_in_place() {
    let results = analyse(&["", LIBRIVOX, "   \n ", "Holmes was delighted."]).await;
    assert_eq!(results[0], DocumentLanguage::default());
    assert_eq!(results[2], DocumentLanguage::default());
    assert!(!results[1].entities.is_empty());
    assert!(results[3].sentiment.is_some());
    assert!(
        LocalLanguage::new()
            .analyse(&[], "en")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn other_languages_are_unsupported() {
    let backend = LocalLanguage::new();
    assert_eq!(backend.engine(), ENGINE);
    let documents = vec!["Bonjour tout le monde, il fait beau aujourd'hui.".to_owned()];
    for language in ["fr-FR", "de", "es-US", ""] {
        let err = backend.analyse(&documents, language).await.unwrap_err();
        let LanguageError::UnsupportedLanguage(message) = &err else {
            panic!("{language}: {err:?}");
        };
        assert!(
            message.starts_with("local language analysis handles English only; the speech is"),
            "{message}"
        );
        if !language.is_empty() {
            assert!(message.ends_with(language), "{message}");
        }
    }
    for language in ["en", "en-US", "en-GB", "EN-au", "en_IN"] {
        assert!(local::is_english(language), "{language}");
        backend.analyse(&documents, language).await.unwrap();
    }
}

#[test]
fn keyphrase_scores_map_lower_is_better_onto_0_to_1() {
    assert_eq!(local::keyphrase_score(0.0), 1.0);
    assert!((local::keyphrase_score(local::KEYPHRASE_SCORE_SCALE) - 0.5).abs() < 1e-12);
    assert!(local::keyphrase_score(0.01) > local::keyphrase_score(0.2));
    assert!(local::keyphrase_score(1e9) > 0.0);
    assert_eq!(local::keyphrase_score(f64::NAN), 0.0);
    assert_eq!(local::keyphrase_score(-1.0), 1.0);
}
