// `partyline user ...`: the operator's account tool (create the sysop, list,
// lock, unlock, reset a password), run on the server machine beside or
// instead of the server.
#pragma once

// argv[0] is "user". Returns the process exit code.
int cli_user_main(int argc, char **argv);
