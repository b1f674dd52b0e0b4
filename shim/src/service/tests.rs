use super::*;

#[test]
fn exec_details_as_runc_reports_them() {
    let any = process_details("e1").unwrap();
    assert_eq!(any.type_url, "containerd.runc.v1.ProcessDetails");
    // field 1 (exec_id), length-delimited, 2 bytes.
    assert_eq!(any.value, [0x0a, 2, b'e', b'1']);
}
