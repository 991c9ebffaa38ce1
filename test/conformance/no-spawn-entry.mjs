// The `brokerEntry` the conformance harness hands the SDK: spawns nothing, because the harness owns
// every daemon process (its SIGKILL/restart schedule must be the test's alone).
