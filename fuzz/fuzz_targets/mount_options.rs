//! Mount option strings through `plan::mount_options::parse`: no panic, and the
//! result is consistent whatever the order of the options.
#![no_main]

use fastrun_runtime::plan::mount_options::parse;
use fastrun_runtime::sys::mount_api::{
    MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // As in a config: `"options": ["rw", "nosuid", ...]`; the fuzzer writes them
    // comma-separated, as in fstab.
    let list: Vec<&str> = s.split(',').collect();
    let o = parse(list.iter().copied());

    for (set, clr) in [(o.attr_set, o.attr_clr), (o.rec_attr_set, o.rec_attr_clr)] {
        // Outside the atime field a bit is set or cleared, never both.
        assert_eq!(set & clr & !MOUNT_ATTR__ATIME, 0, "{list:?}: {o:?}");
        // The atime field is a value (relatime = 0, noatime, strictatime) given with
        // the whole field in attr_clr, as mount_setattr(2) wants.
        if set & MOUNT_ATTR__ATIME != 0 {
            assert_eq!(
                clr & MOUNT_ATTR__ATIME,
                MOUNT_ATTR__ATIME,
                "{list:?}: {o:?}"
            );
        }
        let atime = set & MOUNT_ATTR__ATIME;
        assert!(
            [0, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME].contains(&atime),
            "{list:?}: atime {atime:#x}"
        );
    }
    assert!(
        [
            0,
            libc::MS_PRIVATE,
            libc::MS_SHARED,
            libc::MS_SLAVE,
            libc::MS_UNBINDABLE
        ]
        .contains(&o.propagation),
        "{list:?}: propagation {:#x}",
        o.propagation
    );
    // rbind implies bind; idmap_recursive implies idmap.
    assert!(!o.idmap_recursive || o.idmap);
    assert!(o.sb_flags.len() + o.data.len() <= list.len());
    // Every unknown option became data, unchanged.
    for (k, v) in &o.data {
        let text = match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        };
        assert!(list.contains(&text.as_str()), "{text:?} not in {list:?}");
    }
});
