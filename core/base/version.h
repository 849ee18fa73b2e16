#pragma once
#define PARTYLINE_VERSION "0.1.0"
#define PARTYLINE_PROTOCOL 1
