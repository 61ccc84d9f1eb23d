//! Which process this is, and whether another one still runs.

use crate::backend::part::ProcessId;

/// This process: its pid and its start time (in clock ticks since boot,
/// from `/proc/self/stat`), or, where there is no `/proc`, the time it
/// first asked.
pub(crate) fn own() -> ProcessId {
    static OWN: std::sync::OnceLock<ProcessId> = std::sync::OnceLock::new();
    *OWN.get_or_init(|| {
        let pid = std::process::id();
        let token = start_time(pid).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
        ProcessId { pid, token }
    })
}

/// Whether `p` still runs: a process with its pid exists, has its start
/// time, and is not a zombie. Without `/proc`, every process counts as
/// running.
pub(crate) fn alive(p: ProcessId) -> bool {
    if p == own() {
        return true;
    }
    if !std::path::Path::new("/proc/self/stat").exists() {
        return true;
    }
    match stat(p.pid) {
        Some((state, start)) => start == p.token && state != 'Z' && state != 'X',
        None => false,
    }
}

fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, start)| start)
}

/// The state letter and start time of `pid`, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: fields
    // are counted from the last `)`. After it: state (field 3) ..
    // starttime (field 22).
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_an_exited_one_does_not() {
        let me = own();
        assert!(alive(me));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let token = start_time(pid);
        child.wait().unwrap();
        if let Some(token) = token {
            assert!(!alive(ProcessId { pid, token }));
        }
        // Same pid, another start time: a reused pid is another process.
        assert!(
            !alive(ProcessId {
                pid: me.pid,
                token: me.token + 1
            }) || me.token == 0
        );
    }
}
