//! What an answer line may say, beyond its JSON shape: an observation that
//! no port could show (more senders than the setup has, more bytes queued
//! than were ever sent) is a protocol violation of the system under test,
//! reported as such (exit status 2), never compared with the model and so
//! never blamed on a rule. A line that does not parse names the field.

use reference::observation::Observation;
use reference::op::Setup;
use reference::units::Bytes;

/// What the session has told the system so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    /// Payload bytes of every `send` op forwarded.
    pub bytes: Bytes,
}

/// `Err` names the field and what is impossible about it.
pub fn observation(obs: &Observation, setup: &Setup, sent: Sent) -> Result<(), String> {
    let senders = usize::from(setup.senders);
    if obs.senders.len() != senders {
        return Err(format!(
            "observation.senders has {} entries, but the setup has {senders} senders",
            obs.senders.len()
        ));
    }
    let known = |s: reference::units::SenderId| usize::from(s.0) < senders;
    if let Some((s, _)) = obs.completed.iter().find(|(s, _)| !known(*s)) {
        return Err(format!("observation.completed names sender {}, but the setup has {senders} senders", s.0));
    }
    if let Some(s) = obs.busy_port_events.iter().find(|s| !known(**s)) {
        return Err(format!("observation.busy_port_events names sender {}, but the setup has {senders} senders", s.0));
    }
    if obs.queue > sent.bytes {
        return Err(format!(
            "observation.queue is {} bytes, more than the {} bytes sent so far",
            obs.queue.0, sent.bytes.0
        ));
    }
    if let Some(m) = obs.msgq.filter(|m| *m > sent.bytes) {
        return Err(format!("observation.msgq is {} bytes, more than the {} bytes sent so far", m.0, sent.bytes.0));
    }
    Ok(())
}

/// Why `line` does not parse as a `T`, with the path of the offending
/// field (`observation.queue: invalid type: …`).
pub fn field_error<T: serde::de::DeserializeOwned>(line: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(line);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => None,
        Err(e) => Some(format!("{}: {}", e.path(), e.inner())),
    }
}

/// For a `step` line that does not parse: the field path inside the step
/// (its `observation` or `choices`), which an internally tagged enum loses.
pub fn step_field_error(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.get("type")?.as_str()? != "step" {
        return None;
    }
    for (field, text) in [("observation", v.get("observation")), ("choices", v.get("choices"))] {
        let Some(text) = text.map(|t| t.to_string()) else {
            return Some(format!("missing field `{field}`"));
        };
        let e = match field {
            "observation" => field_error::<Observation>(&text),
            _ => field_error::<Vec<reference::choice::Choice>>(&text),
        };
        if let Some(e) = e {
            return Some(format!("{field}.{e}"));
        }
    }
    v.get("step").filter(|s| s.as_u64().is_none()).map(|s| format!("step: expected a step number, got {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reference::observation::{Reply, SenderStatus};

    fn obs(senders: usize, queue: usize) -> Observation {
        Observation {
            reply: Reply::None,
            senders: vec![SenderStatus::Idle; senders],
            completed: vec![],
            busy_port_events: vec![],
            queue: Bytes(queue),
            busy: None,
            msgq: None,
            ports: 2,
            reader: Default::default(),
        }
    }

    fn setup(senders: u8) -> Setup {
        Setup { senders, ..Setup::default() }
    }

    #[test]
    fn a_senders_list_must_match_the_setup() {
        let e = observation(&obs(5, 0), &setup(4), Sent::default()).unwrap_err();
        assert!(e.contains("observation.senders has 5 entries") && e.contains("4 senders"), "{e}");
        assert!(observation(&obs(4, 0), &setup(4), Sent::default()).is_ok());
    }

    #[test]
    fn no_more_can_be_queued_than_was_sent() {
        let e = observation(&obs(2, 1_000_000_000_000), &setup(2), Sent { bytes: Bytes(10) }).unwrap_err();
        assert!(e.contains("observation.queue is 1000000000000 bytes") && e.contains("10 bytes sent"), "{e}");
        assert!(observation(&obs(2, 10), &setup(2), Sent { bytes: Bytes(10) }).is_ok());
    }

    #[test]
    fn a_wrong_field_type_is_named_by_its_path() {
        let line = r#"{"type":"step","step":3,"observation":{"reply":"none","senders":[],"completed":[],"busy_port_events":[],"queue":"x","busy":null,"msgq":null,"ports":2},"choices":[]}"#;
        let e = step_field_error(line).expect("an error");
        assert!(e.starts_with("observation.queue:"), "{e}");
    }
}
