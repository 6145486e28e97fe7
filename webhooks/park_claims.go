package webhooks

// The claim maps are named through these functions, never the constants
// directly, so that how claims are spread over maps is decided in one
// place.

// parkClaimMapOf is the Sync map holding the park claim of a conversation.
func parkClaimMapOf(conversationSid string) string { return ParkClaimMap }

// transferClaimMapOf is the Sync map holding the transfer claim of a
// conversation.
func transferClaimMapOf(conversationSid string) string { return TransferClaimMap }

// ParkClaimMaps are every map park claims live in: what the sweeper scans.
func ParkClaimMaps() []string { return []string{ParkClaimMap} }

// TransferClaimMaps are every map transfer claims live in.
func TransferClaimMaps() []string { return []string{TransferClaimMap} }
