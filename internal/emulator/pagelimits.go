package emulator

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// pageLimit is one list endpoint's largest PageSize, from the `maximum` of
// its PageSize parameter in Twilio's OpenAPI spec (twilio_<product>_v1.json).
type pageLimit struct {
	path *regexp.Regexp
	max  int
	code int // the Twilio error for a PageSize out of range
}

// Error codes for a PageSize out of range:
// https://www.twilio.com/docs/api/errors/20007 ("Page size too large … The
// maximum page size is 1000") and, for Sync,
// https://www.twilio.com/docs/api/errors/54454 ("Invalid 'PageSize' query
// parameter … not an integer in the required range"). Conversations' lists
// with a smaller maximum (5 for scoped webhooks, 50 or 100 for others) have no
// documented answer: the emulator takes the worst case, a 400 (20007), over
// a page silently shortened.
const (
	codePageSizeTooLarge = 20007
	codeSyncPageSize     = 54454
)

// pageLimits lists, per host, the endpoints whose maximum is below the
// general 1000. Paths are matched in full, so /Messages does not match
// /Messages/{sid}/Receipts.
var pageLimits = map[string][]pageLimit{
	HostConversations: {
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations/[^/]+/Webhooks$`), 5, codePageSizeTooLarge},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations/[^/]+/(Messages|Participants)$`), 100, codePageSizeTooLarge},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations/[^/]+/Messages/[^/]+/Receipts$`), 50, codePageSizeTooLarge},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations$`), 100, codePageSizeTooLarge},
		{regexp.MustCompile(`^/v1/(Services|Credentials|Services/[^/]+/Bindings)$`), 100, codePageSizeTooLarge},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?(ParticipantConversations|Roles|Users|Users/[^/]+/Conversations)$`), 50, codePageSizeTooLarge},
		{regexp.MustCompile(`^/v1/Configuration/Addresses$`), 50, codePageSizeTooLarge},
	},
	HostSync: {
		{regexp.MustCompile(`^/v1/Services(/.*)?$`), 100, codeSyncPageSize},
	},
}

// withPageLimits answers a list request whose PageSize is out of its
// endpoint's range with Twilio's 400, before the product sees it.
func withPageLimits(host string, next http.Handler) http.Handler {
	limits := pageLimits[host]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("PageSize")
		if r.Method != http.MethodGet || raw == "" {
			next.ServeHTTP(w, r)
			return
		}
		maxSize, code := core.MaxPageSize, codePageSizeTooLarge
		for _, l := range limits {
			if l.path.MatchString(r.URL.Path) {
				maxSize, code = l.max, l.code
				break
			}
		}
		if n, err := strconv.Atoi(raw); err == nil && n > maxSize {
			core.WriteError(w, core.Errf(http.StatusBadRequest, code,
				"Invalid parameter PageSize: %d is larger than this list's maximum page size, %d", n, maxSize))
			return
		}
		next.ServeHTTP(w, r)
	})
}
