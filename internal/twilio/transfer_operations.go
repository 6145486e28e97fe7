package twilio

import "github.com/flexhooks/flexhooks/webhooks"

// Operations implements transfers' Twilio operations: the Conversations and
// Sync ones in conversations.go and syncmaps.go, the Flex ones in
// transfer_invites.go, the TaskRouter ones in taskrouter.go. The build
// fails here when one is missing.
var _ webhooks.TransferTwilio = (*Operations)(nil)
