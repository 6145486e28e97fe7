// Package flexhooks holds the domain vocabulary every other package of the
// service shares: the error type with its stable codes (mapped to HTTP status
// in internal/server, from Twilio errors in internal/twilio) and the caller
// (the agent or supervisor a Flex token names) carried on a request's context.
package flexhooks
