// `partyline --copy-store FROM TO`: moves a board from SQLite (a data
// directory) to PostgreSQL (a URI), refusing a target that is not empty.
#pragma once

// argv[0] is "--copy-store". Returns the process exit code.
int cli_store_main(int argc, char **argv);
