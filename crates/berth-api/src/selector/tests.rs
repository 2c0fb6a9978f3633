use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(s: &str) -> LabelSelector {
    match LabelSelector::parse(s) {
        Ok(sel) => sel,
        Err(e) => panic!("{s:?}: {e}"),
    }
}

#[test]
fn label_selector_syntax_matches_as_upstream() {
    let web = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("app=web", true),
        ("app==web", true),
        ("app = web", true),
        ("app!=web", false),
        ("app!=db", true),
        ("missing!=x", true),
        ("app in (web,db)", true),
        ("app in (db)", false),
        ("app notin (db, cache)", true),
        ("missing notin (x)", true),
        ("app", true),
        ("missing", false),
        ("!missing", true),
        ("!app", false),
        ("app=web,tier=front", true),
        ("app=web,tier=back", false),
        ("  app=web ,  !canary ", true),
        ("n>4", true),
        ("n<4", false),
        ("app>4", false),
        ("missing=", false),
        ("tier in (front,)", true),
    ];
    for (s, want) in cases {
        assert_eq!(parse(s).matches(&web), *want, "{s:?}");
    }
    assert!(parse("").is_empty());
    assert!(parse("x=").matches(&labels(&[("x", "")])));
}

#[test]
fn label_selector_errors_say_what_was_found() {
    let cases: &[(&str, &str)] = &[
        ("app=web,", "found '', expected: identifier after ','"),
        ("app in web", "found 'web' expected: '('"),
        ("app in (web", "found '', expected: ',' or ')'"),
        (
            "=web",
            "found '=', expected: !, identifier, or 'end of string'",
        ),
        (
            "app web",
            "found 'web', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("app=web db", "found 'db', expected: ',' or 'end of string'"),
        ("app==", ""),
        ("a/b/c=x", "key: Invalid value: \"a/b/c\""),
        ("app=-bad", "values[0][app]: Invalid value: \"-bad\""),
        (
            "n>x",
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ];
    for (s, want) in cases {
        match (LabelSelector::parse(s), want.is_empty()) {
            (Ok(_), true) => {}
            (Ok(sel), false) => panic!("{s:?} parsed as {sel}"),
            (Err(e), _) => assert!(e.0.contains(want) && !want.is_empty(), "{s:?}: {e}"),
        }
    }
}

#[test]
fn label_selector_prints_in_canonical_order() {
    assert_eq!(
        parse("z=1, a in (y,x), !b, c").to_string(),
        "a in (x,y),!b,c,z=1"
    );
}

#[test]
fn label_selector_from_meta_converts_every_operator() {
    let sel = meta::LabelSelector {
        match_labels: Some([("app".to_string(), "web".to_string())].into()),
        match_expressions: Some(vec![
            meta::LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["a".into(), "b".into()]),
            },
            meta::LabelSelectorRequirement {
                key: "canary".into(),
                operator: "DoesNotExist".into(),
                values: None,
            },
            meta::LabelSelectorRequirement {
                key: "env".into(),
                operator: "NotIn".into(),
                values: Some(vec!["prod".into()]),
            },
            meta::LabelSelectorRequirement {
                key: "team".into(),
                operator: "Exists".into(),
                values: None,
            },
        ]),
    };
    let sel = match LabelSelector::from_meta(&sel) {
        Ok(sel) => sel,
        Err(e) => panic!("{e}"),
    };
    assert!(sel.matches(&labels(&[("app", "web"), ("tier", "b"), ("team", "x")])));
    assert!(!sel.matches(&labels(&[
        ("app", "web"),
        ("tier", "b"),
        ("team", "x"),
        ("canary", "1")
    ])));
    assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "b")])));
    assert!(LabelSelector::from_meta(&meta::LabelSelector::default()).is_ok_and(|s| s.is_empty()));
    let bad = meta::LabelSelector {
        match_expressions: Some(vec![meta::LabelSelectorRequirement {
            key: "a".into(),
            operator: "Near".into(),
            values: None,
        }]),
        ..Default::default()
    };
    assert!(LabelSelector::from_meta(&bad).is_err());
}

#[test]
fn field_selector_syntax_and_escaping() {
    let values = |field: &str| match field {
        "metadata.name" => Some("a,b=c".to_string()),
        "status.phase" => Some("Running".to_string()),
        _ => None,
    };
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("status.phase=Running", true),
        ("status.phase==Running", true),
        ("status.phase!=Running", false),
        ("metadata.name=a\\,b\\=c", true),
        ("metadata.name=a\\,b\\=c,status.phase=Pending", false),
        ("spec.nodeName=", true),
        ("spec.nodeName!=", false),
    ];
    for (s, want) in cases {
        let sel = match FieldSelector::parse(s) {
            Ok(sel) => sel,
            Err(e) => panic!("{s:?}: {e}"),
        };
        assert_eq!(sel.matches(&values), *want, "{s:?}");
    }
    let sel = FieldSelector::parse("b=1,a!=2").unwrap_or_default();
    assert_eq!(sel.fields(), ["a", "b"]);
    assert_eq!(sel.to_string(), "a!=2,b=1");
    assert_eq!(
        FieldSelector::parse("metadata.name=x")
            .unwrap_or_default()
            .required_value("metadata.name"),
        Some("x")
    );
}

#[test]
fn field_selector_errors_as_upstream() {
    let cases: &[(&str, &str)] = &[
        (
            "status.phase",
            "invalid selector: 'status.phase'; can't understand 'status.phase'",
        ),
        (
            "a=b\\x",
            "invalid field selector: invalid escape sequence: \\x",
        ),
        (
            "a=b\\",
            "invalid field selector: invalid escape sequence: \\",
        ),
        ("a=b=c", "invalid field selector: unescaped character: ="),
    ];
    for (s, want) in cases {
        assert_eq!(
            FieldSelector::parse(s).map_err(|e| e.0),
            Err(want.to_string()),
            "{s:?}"
        );
    }
}
