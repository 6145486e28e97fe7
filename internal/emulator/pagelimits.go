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
	code int // the Twilio error for a PageSize out of range; 0: served as max
}

// Error codes for a PageSize out of range:
// https://www.twilio.com/docs/api/errors/20007 ("Page size too large … The
// maximum page size is 1000") and, for Sync,
// https://www.twilio.com/docs/api/errors/54454 ("Invalid 'PageSize' query
// parameter … not an integer in the required range"). Conversations' lists
// with a smaller maximum (5 for scoped webhooks, 50 or 100 for others) have no
// documented answer, but twilio-go (like Twilio's other SDKs) asks every list
// for 50 a page unless told otherwise, so a refusal would break the official
// clients' default calls: Conversations serves at most its maximum a page,
// with a next page, and a client must follow next_page_url.
const (
	codePageSizeTooLarge = 20007
	codeSyncPageSize     = 54454
)

// pageLimits lists, per host, the endpoints whose maximum is below the
// general 1000. Paths are matched in full, so /Messages does not match
// /Messages/{sid}/Receipts.
var pageLimits = map[string][]pageLimit{
	HostConversations: {
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations/[^/]+/Webhooks$`), 5, 0},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations/[^/]+/(Messages|Participants)$`), 100, 0},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations/[^/]+/Messages/[^/]+/Receipts$`), 50, 0},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?Conversations$`), 100, 0},
		{regexp.MustCompile(`^/v1/(Services|Credentials|Services/[^/]+/Bindings)$`), 100, 0},
		{regexp.MustCompile(`^/v1/(Services/[^/]+/)?(ParticipantConversations|Roles|Users|Users/[^/]+/Conversations)$`), 50, 0},
		{regexp.MustCompile(`^/v1/Configuration/Addresses$`), 50, 0},
	},
	HostSync: {
		{regexp.MustCompile(`^/v1/Services(/.*)?$`), 100, codeSyncPageSize},
	},
}

// withPageLimits applies each list's maximum PageSize before the product
// sees the request: Twilio's 400, or the page cut to the maximum.
func withPageLimits(host string, next http.Handler) http.Handler {
	limits := pageLimits[host]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("PageSize")
		if r.Method != http.MethodGet || raw == "" {
			next.ServeHTTP(w, r)
			return
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if n > core.MaxPageSize {
			core.WriteError(w, core.Errf(http.StatusBadRequest, codePageSizeTooLarge,
				"Page size too large: %d (the maximum page size is %d)", n, core.MaxPageSize))
			return
		}
		for _, l := range limits {
			if !l.path.MatchString(r.URL.Path) || n <= l.max {
				continue
			}
			if l.code != 0 {
				core.WriteError(w, core.Errf(http.StatusBadRequest, l.code,
					"Invalid parameter PageSize: %d is out of this list's range, 1 to %d", n, l.max))
				return
			}
			q := r.URL.Query()
			q.Set("PageSize", strconv.Itoa(l.max))
			r.URL.RawQuery = q.Encode()
			break
		}
		next.ServeHTTP(w, r)
	})
}
