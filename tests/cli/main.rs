//! Integration tests: every test drives the real `kb` binary in a throw-away vault with a
//! clean environment (temporary HOME, no global git config, fixed git identity).

mod env;
mod servers;

mod test_add;
mod test_config;
mod test_errors;
mod test_first_hour;
mod test_index;
mod test_link;
mod test_mcp;
mod test_model;
mod test_outcomes;
mod test_pick;
mod test_races;
mod test_regressions;
mod test_remotes;
mod test_scan;
mod test_search;
mod test_serve;
mod test_show_list_edit;
mod test_sync;
mod test_sync_safety;
mod test_trust;
mod test_vaults;
