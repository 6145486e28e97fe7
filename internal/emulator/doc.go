// Package emulator is a local Twilio: Conversations, Flex Interactions,
// TaskRouter, Sync and IAM token validation, spoken to over HTTP by the real
// twilio-go client. It owns the wiring of the emulated products (each in its
// own sub-package), the dispatch of REST requests by their Twilio host, basic
// auth, the request log, fault and latency injection, the virtual clock's
// driver and the control API under /emulator/.
//
// The service never imports this package: it knows the emulator only as a URL.
// cmd/flexhooks imports it to run it standalone or embedded.
package emulator
