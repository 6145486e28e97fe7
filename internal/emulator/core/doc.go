// Package core holds what every product of the Twilio emulator shares: the
// world lock, the virtual clock and its scheduler, SIDs, Twilio's error body,
// JSON and paging helpers, and the outbox that signs and delivers the webhooks
// the emulator sends.
//
// Locking model: one mutex (Env.Lock) guards the whole emulated world. The
// emulator's HTTP layer takes it around every REST handler and control call, so
// product code runs single-threaded and must never take it itself. Webhooks
// queued with Env.Send while the lock is held are delivered after it is
// released (Env.Flush), so a webhook handler that calls back into the emulator
// never deadlocks.
package core
