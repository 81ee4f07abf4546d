//! The on-disk format version: a data directory written by a build whose
//! batches carried another checksum is refused by name, never misread.

use tidelog::{Error, Log};

#[test]
fn a_version_1_directory_is_refused_with_its_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cluster-metadata"),
        "tidelog-cluster-metadata 1\nnext-producer-id 1\nplacements 0\ncrc 00000000\n",
    )
    .unwrap();
    match Log::open(dir.path()) {
        Err(Error::UnsupportedFormatVersion {
            found, supported, ..
        }) => {
            assert_eq!(found, 1);
            assert_eq!(supported, 2);
        }
        other => panic!("expected UnsupportedFormatVersion, got {other:?}"),
    }
}

#[test]
fn a_directory_written_now_reopens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path()).unwrap();
        log.create_topic("t", tidelog::TopicConfig::new()).unwrap();
    }
    let text = std::fs::read_to_string(dir.path().join("cluster-metadata")).unwrap();
    assert!(text.starts_with("tidelog-cluster-metadata 2\n"), "{text}");
    Log::open(dir.path()).unwrap();
}
