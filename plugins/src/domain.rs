//! Domain events: the facts plugins announce to each other, by name. A plugin emits them with
//! `cx.emit(kind, payload)` and subscribes with `Subscriptions::domain`.
