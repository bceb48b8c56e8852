//! The delivery worker's question for due rows, with its pacer's paced-out channels.

use chrono::Duration;

use super::*;
use crate::harness::test_db::TestDb;
use crate::harness::test_start;
use crate::store::outbox::tests::enqueue_to;

/// Channels whose pace allows no post now must not fill the batch: a channel that may post has its
/// rows found even when older rows of paced-out channels come first (with 100 busy channels the
/// worker once asked again and again for rows it could not send), and ephemeral replies in a
/// paced-out channel, which are never paced, still go.
#[tokio::test]
async fn rows_of_paced_out_channels_do_not_hide_the_rows_that_may_go() {
    let db = TestDb::new().await;
    let pool = db.open().await.expect("open");
    let mut conn = pool.acquire().await.expect("conn");
    let t0 = test_start();
    for (key, channel, op) in [
        ("a1", "A", Op::Post),
        ("a2", "A", Op::Post),
        ("a3", "A", Op::Post),
        ("b1", "B", Op::Post),
        ("ae", "A", Op::Ephemeral),
    ] {
        enqueue_to(&mut conn, channel, op, key, t0).await;
    }
    let keys = |rows: Vec<Outbound>| rows.into_iter().map(|row| row.idempotency_key).collect::<Vec<_>>();
    let mut pacer = Pacer::new(Some(std::time::Duration::from_secs(1)));

    // Nothing posted yet: the oldest rows first.
    let paced = pacer.paced_out(t0);
    assert!(paced.is_empty());
    let due = outbox::due(&mut conn, Platform::Slack, t0, 2, &paced)
        .await
        .expect("due");
    assert_eq!(keys(due), ["a1", "a2"]);

    // A has just posted: B's row and A's ephemeral reply, not A's next posts.
    pacer.posted("A", t0);
    let paced = pacer.paced_out(t0 + Duration::milliseconds(500));
    assert_eq!(paced, ["A"]);
    let due = outbox::due(&mut conn, Platform::Slack, t0, 2, &paced)
        .await
        .expect("due");
    assert_eq!(keys(due), ["b1", "ae"]);

    // A second after its post A may post again, and the pacer forgets it.
    let later = t0 + Duration::seconds(1);
    assert!(pacer.paced_out(later).is_empty());
    assert!(pacer.may_post("A", later));
    let due = outbox::due(&mut conn, Platform::Slack, later, 2, &[])
        .await
        .expect("due");
    assert_eq!(keys(due), ["a1", "a2"]);

    // Without pacing nothing is ever paced out.
    let mut unpaced = Pacer::new(None);
    unpaced.posted("A", t0);
    assert!(unpaced.paced_out(t0).is_empty());
}
