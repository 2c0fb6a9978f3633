//! Proxy options.

#[test]
fn options_should_reject_bad_table_names() {
    let mut options = super::ProxyOptions::new("node-a");
    assert!(options.validate().is_ok());
    options.table_name = "bad name".into();
    assert!(options.validate().is_err());
    options.table_name = "berth".into();
    options.node_name.clear();
    assert!(options.validate().is_err());
}
