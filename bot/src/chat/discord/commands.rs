//! Discord slash commands from the core's [`CommandSpec`]s, and back from an interaction to the
//! command text the plugins parse.
//!
//! Each sub-command becomes a `SUB_COMMAND` option carrying one optional `args` string (its
//! description is the usage text), so `/incident ack args:42` arrives as `incident` with args
//! `ack 42`, exactly what the same command typed in Slack or the console gives. Typed options are
//! not derived from the usage text: it does not say which words are flags and which positionals,
//! and a wrong guess would make valid commands impossible to type.

use serenity::all::CommandOptionType;
use serenity::builder::{CreateCommand, CreateCommandOption};

use crate::plugin::CommandSpec;

/// Discord's longest description.
const DESCRIPTION_MAX: usize = 100;
/// Discord's longest command or option name.
const NAME_MAX: usize = 32;
/// Sub-commands per command.
const SUBCOMMANDS_MAX: usize = 25;

/// The name of the free-text option of every command and sub-command.
pub const ARGS_OPTION: &str = "args";

/// The Discord command for `spec`.
pub fn command(spec: &CommandSpec) -> CreateCommand {
    let description = describe(&spec.description, &format!("/{}", spec.name));
    let command = CreateCommand::new(name(&spec.name)).description(description);
    if spec.subcommands.is_empty() {
        return command.add_option(args_option("Arguments"));
    }
    let options = spec
        .subcommands
        .iter()
        .take(SUBCOMMANDS_MAX)
        .map(|sub| {
            let usage = if sub.usage.is_empty() {
                "No arguments".to_owned()
            } else {
                sub.usage.clone()
            };
            let option = CreateCommandOption::new(
                CommandOptionType::SubCommand,
                name(&sub.name),
                describe(&sub.help, &format!("/{} {}", spec.name, sub.name)),
            );
            if sub.usage.is_empty() {
                option
            } else {
                option.add_sub_option(args_option(&usage))
            }
        })
        .collect();
    command.set_options(options)
}

/// Every spec's command, in order.
pub fn commands(specs: &[CommandSpec]) -> Vec<CreateCommand> {
    specs.iter().map(command).collect()
}

/// The argument text of an application command interaction's `options`: sub-command names and
/// option values in order, space-separated.
pub fn args_of(options: &[serde_json::Value]) -> String {
    let mut words = Vec::new();
    collect(options, &mut words);
    words.join(" ").trim().to_owned()
}

fn collect(options: &[serde_json::Value], words: &mut Vec<String>) {
    for option in options {
        let kind = option.get("type").and_then(serde_json::Value::as_u64).unwrap_or(0);
        // 1 = SUB_COMMAND, 2 = SUB_COMMAND_GROUP: their name is a word of the command.
        if kind == 1 || kind == 2 {
            if let Some(name) = option.get("name").and_then(serde_json::Value::as_str) {
                words.push(name.to_owned());
            }
            if let Some(nested) = option.get("options").and_then(serde_json::Value::as_array) {
                collect(nested, words);
            }
            continue;
        }
        match option.get("value") {
            Some(serde_json::Value::String(text)) => words.push(text.trim().to_owned()),
            Some(serde_json::Value::Null) | None => {}
            Some(other) => words.push(other.to_string()),
        }
    }
}

fn args_option(usage: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::String, ARGS_OPTION, describe(usage, "Arguments")).required(false)
}

/// Discord's names are lowercase letters, digits, `-` and `_`.
fn name(raw: &str) -> String {
    let cleaned: String = raw
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(NAME_MAX)
        .collect();
    if cleaned.is_empty() { "command".into() } else { cleaned }
}

/// Discord requires a description of 1–100 characters.
fn describe(text: &str, fallback: &str) -> String {
    let text = text.trim();
    let text = if text.is_empty() { fallback } else { text };
    crate::chat::fit::cut_plain(text, DESCRIPTION_MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plugin::SubcommandSpec;

    fn incident() -> CommandSpec {
        CommandSpec {
            name: "incident".into(),
            description: "Declare and run security incidents".into(),
            subcommands: vec![
                SubcommandSpec {
                    name: "ack".into(),
                    usage: "<id>".into(),
                    help: "Acknowledge an incident".into(),
                },
                SubcommandSpec {
                    name: "list".into(),
                    usage: String::new(),
                    help: String::new(),
                },
            ],
        }
    }

    #[test]
    fn subcommands_become_sub_command_options_with_one_args_string() {
        let json = serde_json::to_value(command(&incident())).expect("json");
        assert_eq!(json["name"], "incident");
        assert_eq!(json["description"], "Declare and run security incidents");
        let ack = &json["options"][0];
        assert_eq!((&ack["type"], &ack["name"]), (&json!(1), &json!("ack")));
        assert_eq!(ack["description"], "Acknowledge an incident");
        let args = &ack["options"][0];
        assert_eq!(
            (&args["type"], &args["name"], &args["description"], &args["required"]),
            (&json!(3), &json!("args"), &json!("<id>"), &json!(false))
        );
        assert_eq!(
            json["options"][1]["description"], "/incident list",
            "empty help falls back"
        );
        assert_eq!(json["options"][1]["options"], json!([]), "no arguments, no args option");
    }

    #[test]
    fn interaction_options_become_the_typed_text() {
        let options =
            vec![json!({"type": 1, "name": "ack", "options": [{"type": 3, "name": "args", "value": " 42 "}]})];
        assert_eq!(args_of(&options), "ack 42");
        assert_eq!(args_of(&[json!({"type": 3, "name": "args", "value": "all"})]), "all");
        assert_eq!(args_of(&[json!({"type": 1, "name": "list"})]), "list");
        assert_eq!(args_of(&[]), "");
    }
}
