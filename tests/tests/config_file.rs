//! The configuration file: interpolation, includes, every mistake at once,
//! secrets never shown, bad input refused, migration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use telltale::config::{self, Config, Loader};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "telltale-config-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn error_of(result: Result<impl std::fmt::Debug, telltale::Error>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn variables_defaults_required_variables_and_secret_files_fill_any_string() {
    let dir = Dir::new("vars");
    dir.write("token", "s3cr3t-token\n");
    let file = dir.write(
        "agent.toml",
        r#"version = 2
[server]
host = "${HOST:-127.0.0.1}"
port = "${PORT}"
bearer_token = "${file:token}"
path = "/metrics$$"

[[custom_metrics.sources]]
name = "db"
type = "exec"
command = ["${TOOLS}/probe", "--dsn=postgres://app:${DB_PASSWORD:?the database password}@db"]
"#,
    );
    let vars = [
        ("PORT", "9109"),
        ("TOOLS", "/opt/tools"),
        ("DB_PASSWORD", "hunter2-long"),
    ];
    let loaded = Loader::with_vars(vars).load(&file).unwrap();
    let config = loaded.config();
    assert_eq!(config.server.host, "127.0.0.1");
    assert_eq!(config.server.port, 9109, "a number from a variable");
    assert_eq!(config.server.bearer_token.as_deref(), Some("s3cr3t-token"));
    assert_eq!(config.server.path, "/metrics$");
    let command = &config.custom_metrics.sources[0].command;
    assert_eq!(command[0], "/opt/tools/probe");
    assert_eq!(command[1], "--dsn=postgres://app:hunter2-long@db");

    // Never shown: not in Debug, not in `show`, not in an error.
    let debug = format!("{config:?} {config:#?} {loaded:?}");
    for secret in ["s3cr3t-token", "hunter2-long", "/opt/tools"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    let shown = loaded.show();
    assert!(
        !shown.contains("s3cr3t-token") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("bearer_token = \"***\""), "{shown}");
    assert!(
        shown.contains("host = \"127.0.0.1\""),
        "a default is no secret: {shown}"
    );

    let unset = error_of(Loader::with_vars([("PORT", "1"), ("TOOLS", "/t")]).load(&file));
    assert!(
        unset.contains("agent.toml:11:")
            && unset.contains("${DB_PASSWORD} is unset or empty: the database password"),
        "{unset}"
    );
    let wrong = error_of(
        Loader::with_vars([
            ("PORT", "secret-port-value"),
            ("TOOLS", "/t"),
            ("DB_PASSWORD", "x"),
        ])
        .load(&file),
    );
    assert!(wrong.contains("agent.toml:4:8: server.port"), "{wrong}");
    assert!(!wrong.contains("secret-port-value"), "{wrong}");
}

#[test]
fn includes_merge_tables_by_key_and_sources_by_name_in_order() {
    let dir = Dir::new("include");
    dir.write(
        "base.toml",
        "version = 2\n[server]\nport = 9100\nhost = \"0.0.0.0\"\n[system.health]\nmin_calls = 5\n",
    );
    dir.write(
        "sources.d/10-disk.toml",
        "version = 2\n[[custom_metrics.sources]]\nname = \"disk\"\ntype = \"exec\"\ncommand = [\"/bin/df\"]\ninterval = \"30s\"\n",
    );
    dir.write(
        "sources.d/20-queue.toml",
        "version = 2\n[[custom_metrics.sources]]\nname = \"queue\"\ntype = \"exec\"\ncommand = [\"/bin/true\"]\n",
    );
    dir.write("sources.d/notes.txt", "not toml, not included");
    let main = dir.write(
        "agent.toml",
        "version = 2\ninclude = [\"base.toml\", \"sources.d/*.toml\"]\n[server]\nport = 9200\n\n[[custom_metrics.sources]]\nname = \"disk\"\ninterval = \"5s\"\n",
    );
    let loaded = Loader::with_vars::<[(&str, &str); 0], _, _>([])
        .load(&main)
        .unwrap();
    let config = loaded.config();
    assert_eq!(
        config.server.port, 9200,
        "the including file is applied last"
    );
    assert_eq!(config.server.host, "0.0.0.0", "kept from the include");
    assert_eq!(config.system.health.min_calls, 5);
    let names: Vec<&str> = config
        .custom_metrics
        .sources
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["disk", "queue"], "globs sorted, merged by name");
    let disk = &config.custom_metrics.sources[0];
    assert_eq!(disk.interval, Duration::from_secs(5), "overridden by name");
    assert_eq!(disk.command, ["/bin/df"], "kept from the include");
    let files: Vec<String> = loaded
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        ["agent.toml", "base.toml", "10-disk.toml", "20-queue.toml"]
    );
    // Each value says where it came from.
    assert!(loaded
        .origin("server.port")
        .unwrap()
        .contains("agent.toml:4"));
    assert!(loaded
        .origin("server.host")
        .unwrap()
        .contains("base.toml:4"));
    let shown = loaded.show();
    assert!(shown.contains("port = 9200  # "), "{shown}");
    assert!(shown.contains("command = [\"/bin/df\"]  # "), "{shown}");
    assert!(shown.contains("10-disk.toml:5"), "{shown}");
    // The shown text reads back as the same configuration.
    let again = Config::from_toml_str(&shown.replace("\"***\"", "\"x\""), "shown.toml").unwrap();
    assert_eq!(&again, config);

    // A mistake in an include names the include.
    dir.write("sources.d/30-bad.toml", "[[custom_metrics.sources]]\nname = \"bad\"\ntype = \"exec\"\ncommand = [\"/bin/true\"]\ntimeout = \"forever\"\n");
    let error = error_of(Loader::new().load(&main));
    assert!(
        error.contains("30-bad.toml:5:11: custom_metrics.sources[2].timeout"),
        "{error}"
    );
    // A missing include names the line including it.
    let missing = dir.write("missing.toml", "include = [\"nowhere.toml\"]\n");
    let error = error_of(Loader::new().load(&missing));
    assert!(
        error.contains("missing.toml:1:12") && error.contains("nowhere.toml"),
        "{error}"
    );
}

#[test]
fn an_include_cycle_is_an_error_naming_the_chain() {
    let dir = Dir::new("cycle");
    dir.write("a.toml", "include = [\"b.toml\"]\n");
    dir.write("b.toml", "include = [\"c.toml\"]\n");
    dir.write("c.toml", "include = [\"a.toml\"]\n");
    let error = error_of(Loader::new().load(dir.0.join("a.toml")));
    assert!(error.contains("include cycle"), "{error}");
    let chain = error.split("include cycle: ").nth(1).unwrap();
    let names: Vec<&str> = chain
        .split(" -> ")
        .map(|p| Path::new(p.trim()).file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["a.toml", "b.toml", "c.toml", "a.toml"], "{error}");
    let error = error_of(Loader::new().load(dir.write("self.toml", "include = \"self.toml\"\n")));
    assert!(error.contains("include cycle"), "{error}");
}

#[test]
fn every_mistake_of_a_file_is_reported_at_once_with_its_place() {
    let dir = Dir::new("mistakes");
    let file = dir.write(
        "bad.toml",
        r#"version = 2
[server]
prot = 9100
max_connections = 0
idle_timeout = "soon"

[system.health]
max_error_rate = 1.5

[[system.exporters.endpoints]]
protocol = "remote_write"
url = "not a url"

[custom_metrics]
plugin_directories = ["/nonexistent/plugins"]

[[custom_metrics.sources]]
name = "twice"
type = "exec"
command = ["/bin/true"]

[[custom_metrics.sources]]
name = "twice"
type = "exec"
command = ["/bin/true"]

[[custom_metrics.sources]]
name = "typed"
type = "exec"
command = "/bin/true"
"#,
    );
    let error = error_of(Config::from_file(&file));
    let lines: Vec<&str> = error.lines().collect();
    let name = file.display().to_string();
    let expected = [
        (":3:1: server.prot", "did you mean `port`?"),
        (":4:19: server.max_connections", "must be at least 1"),
        (":5:16: server.idle_timeout", "\"soon\" is not a duration"),
        (":8:18: system.health.max_error_rate", "between 0 and 1"),
        (":12:7: system.exporters.endpoints[0].url", ""),
        (
            ":15:23: custom_metrics.plugin_directories[0]",
            "/nonexistent/plugins",
        ),
        (
            ":23:8: custom_metrics.sources[1].name",
            "also the name of sources[0]",
        ),
        (
            ":30:11: custom_metrics.sources[2].command",
            "expected a sequence",
        ),
    ];
    assert_eq!(lines.len(), expected.len(), "{error}");
    for (line, (place, what)) in lines.iter().zip(expected) {
        assert!(
            line.contains(&format!("{name}{place}")) && line.contains(what),
            "{line:?} should have {place} and {what:?}\n{error}"
        );
    }
    // `check` says the same on the command line (tested with the binary in
    // runtime/tests/agent.rs); the library says it as one error.
    assert!(matches!(
        Config::from_file(&file),
        Err(telltale::Error::Config(_))
    ));
}

#[test]
fn bad_input_gets_an_error_not_a_hang_or_a_panic() {
    let dir = Dir::new("input");
    let utf8 = dir.0.join("latin1.toml");
    std::fs::write(&utf8, b"[server]\nhost = \"caf\xe9\"\n").unwrap();
    let error = error_of(Config::from_file(&utf8));
    assert!(error.contains("latin1.toml:2:12: not UTF-8"), "{error}");

    let big = dir.0.join("big.toml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    std::fs::write(&big, line.repeat(10 * 1024 * 1024 / line.len() + 1)).unwrap();
    let started = std::time::Instant::now();
    let error = error_of(Config::from_file(&big));
    assert!(
        error.contains("a configuration file may have at most"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not read to the end"
    );

    for (name, text) in [
        (
            "arrays",
            format!("a = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "inline",
            format!("a = {}{}\n", "{b = ".repeat(100_000), "}".repeat(100_000)),
        ),
        ("headers", format!("[{}]\n", vec!["t"; 100_000].join("."))),
        ("dotted", format!("{} = 1\n", vec!["k"; 100_000].join("."))),
    ] {
        let path = dir.write(&format!("{name}.toml"), &text);
        let error = error_of(Config::from_file(&path));
        assert!(error.contains("nested deeper than 32"), "{name}: {error}");
    }
    // Nesting within the bound is fine, and strings hold anything.
    let fine = dir.write(
        "fine.toml",
        "[custom_metrics]\n[[custom_metrics.sources]]\nname = \"[[[{{{\"\ntype = \"exec\"\ncommand = [\"/bin/echo\", \"]]]]}}}\"]\n",
    );
    Config::from_file(&fine).unwrap();

    let directory = error_of(Config::from_file(&dir.0));
    assert!(directory.contains("is a directory"), "{directory}");
    let error = error_of(Config::from_file(dir.0.join("absent.toml")));
    assert!(
        error.contains("cannot read the configuration file"),
        "{error}"
    );
}

#[test]
fn a_version_1_file_loads_with_a_warning_and_migrates_keeping_comments() {
    let dir = Dir::new("migrate");
    let old = "# The agent on the database hosts.\n\
               [server]\n\
               port = 9187 # what Prometheus scrapes\n\
               \n\
               # Sources, one per check.\n\
               [[custom_metrics.sources]]\n\
               name = \"replication_lag\"\n\
               type = \"exec\"\n\
               command = [\"/bin/sh\", \"-c\", \"echo ${HOME} $$\"]\n";
    let file = dir.write("v1.toml", old);
    let loaded = Loader::new().load(&file).unwrap();
    assert_eq!(loaded.config().server.port, 9187);
    assert_eq!(loaded.warnings().len(), 1);
    assert!(
        loaded.warnings()[0].contains("read as version 1"),
        "{:?}",
        loaded.warnings()
    );
    // Version 1 had no interpolation: its strings are read as written.
    assert_eq!(
        loaded.config().custom_metrics.sources[0].command[2],
        "echo ${HOME} $$"
    );

    let migration = config::migrate(old, "v1.toml").unwrap();
    assert_eq!((migration.from, migration.to), (1, config::CURRENT_VERSION));
    assert_eq!(migration.changes.len(), 2, "{:?}", migration.changes);
    assert!(
        migration.changes[1]
            .starts_with("custom_metrics.sources[0].command[2]: `$` written as `$$`"),
        "{:?}",
        migration.changes
    );
    // Everything else is as written, comments, order and spacing, but for
    // the `$`s doubled so that version 2 reads the same value.
    assert_eq!(
        migration.text,
        format!(
            "version = 2\n{}",
            old.replace("${HOME} $$", "$${HOME} $$$$")
        )
    );
    let migrated = dir.write("v2.toml", &migration.text);
    let loaded = Loader::with_vars([("HOME", "/root")])
        .load(&migrated)
        .unwrap();
    assert!(loaded.warnings().is_empty(), "{:?}", loaded.warnings());
    assert_eq!(
        loaded.config(),
        &Config::from_file(&file).unwrap(),
        "the same values"
    );

    let newer = dir.write("v9.toml", "version = 9\n");
    let error = error_of(Config::from_file(&newer));
    assert!(
        error.contains("v9.toml:1:11: version: version 9 is newer"),
        "{error}"
    );
}

#[test]
fn a_value_taken_out_for_its_mistake_raises_no_second_one() {
    let error = error_of(Loader::with_vars::<[(&str, &str); 0], _, _>([]).load_str(
        "version = 2\n[[custom_metrics.sources]]\nname = \"${UNSET}\"\ntype = \"exce\"\ncommand = [\"/bin/true\"]\n",
        "one.toml",
    ));
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 2, "{error}");
    assert!(
        lines[0].contains(
            "one.toml:3:8: custom_metrics.sources[0].name: environment variable UNSET is not set"
        ),
        "{error}"
    );
    assert!(
        lines[1].contains("one.toml:4:8: custom_metrics.sources[0].type: unknown value `exce`")
            && lines[1].contains("did you mean `exec`?"),
        "{error}"
    );
    assert!(!error.contains("missing field"), "{error}");
}

#[test]
fn thousands_of_mistakes_stop_at_a_hundred_quickly() {
    let mut text = String::new();
    for i in 0..200_000 {
        std::fmt::Write::write_fmt(&mut text, format_args!("unknown_{i} = 1\n")).unwrap();
    }
    let started = std::time::Instant::now();
    let error = error_of(Config::from_toml_str(&text, "many.toml"));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 101, "{}", &error[..500]);
    assert!(
        lines[100].contains("the first 100 are shown"),
        "{}",
        lines[100]
    );
}

#[test]
fn the_generic_reader_reads_any_section_the_same_way() {
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct App {
        workers: u32,
        #[serde(default)]
        name: String,
    }
    let app: App = config::from_toml_str("workers = 4\nname = \"a$$b\"\n", "app.toml").unwrap();
    assert_eq!((app.workers, app.name.as_str()), (4, "a$b"));
    let error = error_of(config::from_toml_str::<App>(
        "workerz = 4\nname = 1\n",
        "app.toml",
    ));
    assert!(
        error.contains("app.toml:1:1: workerz: unknown key `workerz`: did you mean `workers`?"),
        "{error}"
    );
    assert!(
        error.contains("app.toml:2:8: name: invalid type: integer `1`"),
        "{error}"
    );
    assert!(error.contains("missing field `workers`"), "{error}");
}

#[test]
fn the_readme_example_is_a_valid_configuration() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme.split("## Configuration\n").nth(1).unwrap();
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .unwrap();
    let dir = Dir::new("readme");
    let secret = dir.write("scrape_token", "from-a-file\n");
    let plugins = dir.0.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    dir.write(
        "base.toml",
        "version = 2\n[system.health]\nmin_calls = 20\n",
    );
    dir.write(
        "sources.d/10-disk.toml",
        "version = 2\n[[custom_metrics.sources]]\nname = \"disk_check\"\ntype = \"exec\"\ncommand = [\"/bin/df\"]\ntimeout = \"3s\"\n",
    );
    let text = example
        .replace("/run/secrets/scrape_token", &secret.display().to_string())
        .replace("/usr/lib/telltale/plugins", &plugins.display().to_string());
    let file = dir.write("agent.toml", &text);
    let loaded = Loader::with_vars([("PUSH_TOKEN", "push-secret")])
        .load(&file)
        .unwrap();
    let config = loaded.config();
    assert_eq!(
        (config.server.host.as_str(), config.server.port),
        ("127.0.0.1", 9464)
    );
    assert_eq!(config.server.bearer_token.as_deref(), Some("from-a-file"));
    assert_eq!(
        config.system.health.min_calls, 10,
        "the including file wins"
    );
    let endpoint = &config.system.exporters.as_ref().unwrap().endpoints[0];
    assert_eq!(endpoint.headers["Authorization"], "Bearer push-secret");
    let disk = &config.custom_metrics.sources[0];
    assert_eq!(disk.command[0], "/usr/lib/telltale/check_disk");
    assert_eq!(
        disk.timeout,
        Duration::from_secs(3),
        "merged by name with the include"
    );
    assert!(loaded.warnings().is_empty(), "{:?}", loaded.warnings());
    let error = error_of(Loader::new().load(&file));
    assert!(
        error.contains("${PUSH_TOKEN} is unset or empty: the remote-write token"),
        "{error}"
    );
}

#[test]
fn credentials_written_in_the_file_are_hidden_by_debug_and_show() {
    let loaded = Loader::new()
        .load_str(
            "version = 2\n[server]\nbearer_token = \"literal-token\"\n\
             [[custom_metrics.sources]]\nname = \"db\"\ntype = \"exec\"\ncommand = [\"/bin/true\"]\nenv = { API_KEY = \"literal-key\" }\n",
            "creds.toml",
        )
        .unwrap();
    let source = &loaded.config().custom_metrics.sources[0];
    let debug = format!("{:?} {source:?}", loaded.config().server);
    assert!(
        !debug.contains("literal-token") && !debug.contains("literal-key"),
        "{debug}"
    );
    assert!(debug.contains("API_KEY"), "names stay: {debug}");
    let shown = loaded.show();
    assert!(
        !shown.contains("literal-token") && !shown.contains("literal-key"),
        "{shown}"
    );
    let db = telltale::sources::SourceConfig {
        connection_string: Some("postgres://app:pw-literal@db:5432/app".into()),
        ..source.clone()
    };
    let debug = format!("{db:?}");
    assert!(
        debug.contains("postgres://***") && !debug.contains("pw-literal"),
        "{debug}"
    );
}

#[test]
fn aggregation_rules_in_the_file_are_checked_with_their_place() {
    let text = r#"version = 2
[custom_metrics]
aggregation_window = "10s"

[[custom_metrics.sources]]
name = "api_health"
type = "exec"
command = ["/bin/true"]

[[custom_metrics.aggregators]]
source = "api_healt.response_time"
type = "percentile"
percentiles = [50, 150]

[[custom_metrics.aggregators]]
type = "expression"
name = "broken"
expression = "1 +"

[[custom_metrics.aggregators]]
type = "percentil"
source = "api_health.response_time"

[[custom_metrics.aggregators]]
type = "mean"
source = "api_health.response_time"
"#;
    let error = error_of(Config::from_toml_str(text, "rules.toml"));
    let lines: Vec<&str> = error.lines().collect();
    let expected = [
        (
            "rules.toml:11:10: custom_metrics.aggregators[0].source",
            "no source is named \"api_healt\" (configured: api_health)",
        ),
        (
            "rules.toml:13:15: custom_metrics.aggregators[0].percentiles",
            "150 is not in (0, 100]",
        ),
        (
            "rules.toml:18:14: custom_metrics.aggregators[1].expression",
            "an operand is missing",
        ),
        (
            "rules.toml:21:8: custom_metrics.aggregators[2].type",
            "did you mean `percentile`?",
        ),
    ];
    assert_eq!(lines.len(), expected.len(), "{error}");
    for (line, (place, what)) in lines.iter().zip(expected) {
        assert!(
            line.contains(place) && line.contains(what),
            "{line:?} should have {place} and {what}\n{error}"
        );
    }
    // The good rule alone reads, with the section's default window.
    let good = text.split("[[custom_metrics.aggregators]]").next().unwrap().to_owned()
        + "[[custom_metrics.aggregators]]\ntype = \"mean\"\nsource = \"api_health.response_time\"\n";
    let config = Config::from_toml_str(&good, "good.toml").unwrap();
    let rule = &config.custom_metrics.aggregators[0];
    assert_eq!(rule.kind, telltale::aggregate::RuleKind::Mean);
    assert_eq!(
        config.custom_metrics.aggregation_window,
        Some(Duration::from_secs(10))
    );
}

#[test]
fn the_readme_aggregation_example_is_a_valid_configuration() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme.split("## Aggregation\n").nth(1).unwrap();
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .unwrap();
    // What the rules read: the program's metrics, and a configured source.
    let _calls = telltale::dynamic::counter("function_calls_total")
        .required_labels(["function", "result"])
        .register()
        .unwrap();
    let _depth = telltale::dynamic::gauge("queue_depth")
        .required_labels(["queue"])
        .register()
        .unwrap();
    let text = format!(
        "version = 2\n{example}\n[[custom_metrics.sources]]\nname = \"api_health\"\ntype = \"exec\"\ncommand = [\"/bin/true\"]\n"
    );
    let config = Config::from_toml_str(&text, "aggregation.toml").unwrap_or_else(|e| panic!("{e}"));
    let rules = &config.custom_metrics.aggregators;
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[0].percentiles, [50.0, 95.0, 99.0]);
    assert_eq!(rules[3].half_life, Some(Duration::from_secs(30)));
}

#[test]
fn the_backend_section_names_a_backend_or_says_what_is_wrong_and_where() {
    use telltale::backend::Backend;
    let config = Config::from_toml_str(
        "version = 2\n[backend]\ntype = \"file\"\ndirectory = \"/var/lib/app/metrics\"\nflush_interval = \"250ms\"\n",
        "app.toml",
    )
    .unwrap();
    let section = config.backend.as_ref().unwrap();
    let Backend::File(options) = section.to_backend(None, "app.toml").unwrap() else {
        panic!("a file backend")
    };
    assert_eq!(options.directory, Path::new("/var/lib/app/metrics"));
    assert_eq!(options.flush_interval, Duration::from_millis(250));
    let config = Config::from_toml_str(
        "version = 2\n[backend]\ntype = \"redis\"\nurl = \"redis://cache:6379/2\"\nqueue_size = 500\n",
        "app.toml",
    )
    .unwrap();
    let Backend::Redis(options) = config
        .backend
        .unwrap()
        .to_backend(None, "app.toml")
        .unwrap()
    else {
        panic!("a redis backend")
    };
    assert_eq!(
        (options.url.as_str(), options.queue_size),
        ("redis://cache:6379/2", 500)
    );
    assert_eq!(options.key_prefix, "telltale:");
    // A misspelt key: an error at its line and column.
    let e = error_of(Config::from_toml_str(
        "version = 2\n[backend]\ntype = \"file\"\ndirectry = \"/x\"\n",
        "bad.toml",
    ));
    assert!(e.contains("bad.toml:4:1") && e.contains("directry"), "{e}");
    // Mistakes of meaning: reported at the section, under `backend`.
    for (text, expected) in [
        ("type = \"mmap\"\n", "\"mmap\" is not a backend"),
        ("type = \"file\"\n", "needs `directory`"),
        (
            "type = \"redis\"\ndirectory = \"/x\"\n",
            "`directory` is not an option of the redis backend",
        ),
        (
            "type = \"file\"\ndirectory = \"/x\"\nflush_interval = \"0s\"\n",
            "`flush_interval` must be longer than zero",
        ),
    ] {
        let e = error_of(Config::from_toml_str(
            &format!("version = 2\n[backend]\n{text}"),
            "b.toml",
        ));
        assert!(
            e.contains("b.toml:2:1: backend: ") && e.contains(expected),
            "{text}: {e}"
        );
    }
}
