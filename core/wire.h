// How the layers are joined: the calls that model/ and board/ make upward
// (model/up.h), answered by board, script and net. main.cpp (and the fuzz
// harness, which runs the real layers without sockets) calls it first.
#pragma once

void wire_up(void);
