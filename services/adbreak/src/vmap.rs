//! `vmap.xml`: the breaks as an IAB VMAP 1.0 playlist, one linear `vmap:AdBreak` per break in
//! time order. With an ad tag URI configured, each break asks it for a VAST 3 response
//! (`vmap:AdSource/vmap:AdTagURI templateType="vast3"`); without one, the breaks carry only
//! their positions, for an ad server or a player that fills them itself.

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesDecl, Event};

/// The VMAP namespace.
pub const NAMESPACE: &str = "http://www.iab.net/videosuite/vmap";

/// One break's position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VmapBreak {
    pub seconds: f64,
}

/// `hh:mm:ss.mmm`, as VMAP's `timeOffset` takes it (hours do not wrap).
pub fn time_offset(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The VMAP document for `breaks` (any order; written in time order).
pub fn vmap(breaks: &[VmapBreak], ad_tag_uri: Option<&str>) -> String {
    let mut breaks = breaks.to_vec();
    breaks.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    // Writing to memory cannot fail, and every piece is a str.
    let bytes = write(&breaks, ad_tag_uri).expect("writing XML to memory");
    let mut xml = String::from_utf8(bytes).expect("XML written from str is UTF-8");
    xml.push('\n');
    xml
}

fn write(breaks: &[VmapBreak], ad_tag_uri: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("vmap:VMAP")
        .with_attribute(("xmlns:vmap", NAMESPACE))
        .with_attribute(("version", "1.0"))
        .write_inner_content(|w| {
            for (k, b) in breaks.iter().enumerate() {
                let id = format!("midroll-{}", k + 1);
                let offset = time_offset(b.seconds);
                let element = w
                    .create_element("vmap:AdBreak")
                    .with_attribute(("timeOffset", offset.as_str()))
                    .with_attribute(("breakType", "linear"))
                    .with_attribute(("breakId", id.as_str()));
                let Some(uri) = ad_tag_uri else {
                    element.write_empty()?;
                    continue;
                };
                let source = format!("{id}-ad-1");
                element.write_inner_content(|w| {
                    w.create_element("vmap:AdSource")
                        .with_attribute(("id", source.as_str()))
                        .with_attribute(("allowMultipleAds", "true"))
                        .with_attribute(("followRedirects", "true"))
                        .write_inner_content(|w| {
                            w.create_element("vmap:AdTagURI")
                                .with_attribute(("templateType", "vast3"))
                                .write_inner_content(|w| {
                                    for part in BytesCData::escaped(uri) {
                                        w.write_event(Event::CData(part))?;
                                    }
                                    Ok(())
                                })?;
                            Ok(())
                        })?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_offsets_are_hours_minutes_seconds_and_milliseconds() {
        assert_eq!(time_offset(0.0), "00:00:00.000");
        assert_eq!(time_offset(361.128), "00:06:01.128");
        assert_eq!(time_offset(3725.0005), "01:02:05.001");
        assert_eq!(time_offset(90000.0), "25:00:00.000");
    }

    #[test]
    fn breaks_in_time_order_with_an_ad_tag_only_when_configured() {
        let breaks = [
            VmapBreak { seconds: 722.689 },
            VmapBreak { seconds: 361.128 },
        ];
        let plain = vmap(&breaks, None);
        assert!(plain.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(plain.contains(
            "<vmap:VMAP xmlns:vmap=\"http://www.iab.net/videosuite/vmap\" version=\"1.0\">"
        ));
        let first = plain.find("timeOffset=\"00:06:01.128\"").unwrap();
        let second = plain.find("timeOffset=\"00:12:02.689\"").unwrap();
        assert!(first < second);
        assert!(plain.contains("breakId=\"midroll-1\""));
        assert!(!plain.contains("AdSource"));

        let tag = "https://ads.example.com/vast?pos=[POS]&a=1]]>b";
        let with_tag = vmap(&breaks, Some(tag));
        assert_eq!(with_tag.matches("<vmap:AdSource").count(), 2);
        assert!(with_tag.contains(
            "<vmap:AdTagURI templateType=\"vast3\"><![CDATA[https://ads.example.com/vast?pos=[POS]&a=1]]]]><![CDATA[>b]]></vmap:AdTagURI>"
        ), "{with_tag}");
        assert_eq!(vmap(&[], None).matches("AdBreak").count(), 0);
    }
}
