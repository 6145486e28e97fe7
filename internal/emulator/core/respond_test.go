package core

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func numbers(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

const listURL = "https://conversations.twilio.com/v1/Conversations"

func listRequest(query string) *http.Request {
	u := listURL
	if query != "" {
		u += "?" + query
	}
	return httptest.NewRequest(http.MethodGet, u, nil)
}

func ptr(s string) *string { return &s }

func TestPaginate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		query    string
		want     []int
		page     int
		pageSize int
		url      string
		next     *string
		prev     *string
	}{
		{name: "defaults: one page of 50", n: 5, want: numbers(5), pageSize: 50,
			url: listURL + "?Page=0&PageSize=50"},
		{name: "empty list", n: 0, want: []int{}, pageSize: 50, url: listURL + "?Page=0&PageSize=50"},
		{name: "default size cuts at 50", n: 51, want: numbers(50), pageSize: 50,
			url:  listURL + "?Page=0&PageSize=50",
			next: ptr(listURL + "?Page=1&PageSize=50&PageToken=PT50")},
		{name: "first page keeps other params", n: 5, query: "State=active&PageSize=2", want: []int{0, 1}, pageSize: 2,
			url:  listURL + "?Page=0&PageSize=2&State=active",
			next: ptr(listURL + "?Page=1&PageSize=2&PageToken=PT2&State=active")},
		{name: "middle page by token", n: 5, query: "State=active&PageSize=2&Page=1&PageToken=PT2", want: []int{2, 3}, page: 1, pageSize: 2,
			url:  listURL + "?Page=1&PageSize=2&PageToken=PT2&State=active",
			next: ptr(listURL + "?Page=2&PageSize=2&PageToken=PT4&State=active"),
			prev: ptr(listURL + "?Page=0&PageSize=2&State=active")},
		{name: "last page", n: 5, query: "PageSize=2&Page=2&PageToken=PT4", want: []int{4}, page: 2, pageSize: 2,
			url:  listURL + "?Page=2&PageSize=2&PageToken=PT4",
			prev: ptr(listURL + "?Page=1&PageSize=2&PageToken=PT2")},
		{name: "page without token", n: 5, query: "PageSize=2&Page=1", want: []int{2, 3}, page: 1, pageSize: 2,
			url:  listURL + "?Page=1&PageSize=2&PageToken=PT2",
			next: ptr(listURL + "?Page=2&PageSize=2&PageToken=PT4"),
			prev: ptr(listURL + "?Page=0&PageSize=2")},
		{name: "token wins over page", n: 5, query: "PageSize=2&Page=0&PageToken=PT3", want: []int{3, 4}, pageSize: 2,
			url: listURL + "?Page=0&PageSize=2&PageToken=PT3"},
		{name: "past the end", n: 5, query: "PageSize=2&Page=9", want: []int{}, page: 9, pageSize: 2,
			url:  listURL + "?Page=9&PageSize=2&PageToken=PT18",
			prev: ptr(listURL + "?Page=8&PageSize=2&PageToken=PT16")},
		{name: "size capped at 1000", n: 1200, query: "PageSize=5000", want: numbers(1000), pageSize: 1000,
			url:  listURL + "?Page=0&PageSize=1000",
			next: ptr(listURL + "?Page=1&PageSize=1000&PageToken=PT1000")},
		{name: "repeated params kept", n: 3, query: "Filter=a&Filter=b&PageSize=1", want: []int{0}, pageSize: 1,
			url:  listURL + "?Filter=a&Filter=b&Page=0&PageSize=1",
			next: ptr(listURL + "?Filter=a&Filter=b&Page=1&PageSize=1&PageToken=PT1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, meta, err := Paginate(listRequest(tc.query), numbers(tc.n), "conversations")
			require.Nil(t, err)
			if len(tc.want) == 0 {
				assert.Empty(t, page)
			} else {
				assert.Equal(t, tc.want, page)
			}
			assert.Equal(t, tc.page, meta.Page)
			assert.Equal(t, tc.pageSize, meta.PageSize)
			assert.Equal(t, "conversations", meta.Key)
			assert.Equal(t, tc.url, meta.URL)
			assert.Equal(t, tc.next, meta.NextPageURL)
			assert.Equal(t, tc.prev, meta.PreviousPageURL)
			first, _ := url.Parse(meta.FirstPageURL)
			assert.Equal(t, "0", first.Query().Get("Page"))
			assert.Empty(t, first.Query().Get("PageToken"))
		})
	}
}

func TestPaginateFollowingNextURLsVisitsEveryItemOnce(t *testing.T) {
	for _, size := range []int{1, 2, 3, 7, 50} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			items := numbers(17)
			var seen []int
			next := listURL + "?State=closed&PageSize=" + strconv.Itoa(size)
			for pages := 0; next != ""; pages++ {
				require.Less(t, pages, 100, "paging does not end")
				page, meta, err := Paginate(httptest.NewRequest(http.MethodGet, next, nil), items, "k")
				require.Nil(t, err)
				seen = append(seen, page...)
				u, _ := url.Parse(meta.URL)
				assert.Equal(t, "closed", u.Query().Get("State"))
				next = ""
				if meta.NextPageURL != nil {
					next = *meta.NextPageURL
				}
			}
			assert.Equal(t, items, seen)
		})
	}
}

func TestPaginateRejectsBadParams(t *testing.T) {
	for _, tc := range []struct{ query, param string }{
		{"PageSize=0", "PageSize"},
		{"PageSize=-1", "PageSize"},
		{"PageSize=ten", "PageSize"},
		{"Page=-1", "Page"},
		{"Page=x", "Page"},
		{"PageToken=PT", "PageToken"},
		{"PageToken=XX5", "PageToken"},
		{"PageToken=PTabc", "PageToken"},
		{"PageToken=PT-1", "PageToken"},
		{"PageToken=5", "PageToken"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, _, err := Paginate(listRequest(tc.query), numbers(3), "k")
			require.NotNil(t, err)
			assert.Equal(t, http.StatusBadRequest, err.Status)
			assert.Equal(t, CodeInvalidParameter, err.Code)
			assert.Contains(t, err.Message, tc.param)

			w := httptest.NewRecorder()
			WriteList(w, listRequest(tc.query), numbers(3), "k")
			assert.Equal(t, http.StatusBadRequest, w.Code)
			var body map[string]any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.EqualValues(t, 20001, body["code"])
			assert.EqualValues(t, 400, body["status"])
			assert.Equal(t, "https://www.twilio.com/docs/errors/20001", body["more_info"])
		})
	}
}

func TestWriteList(t *testing.T) {
	w := httptest.NewRecorder()
	WriteList(w, listRequest("PageSize=2"), []string{}, "workers")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var body struct {
		Workers []string `json:"workers"`
		Meta    Meta     `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	assert.NotNil(t, body.Workers, "an empty page is [], not null")
	assert.Contains(t, w.Body.String(), `"workers":[]`)
	assert.Contains(t, w.Body.String(), `"next_page_url":null`)
	assert.Equal(t, "workers", body.Meta.Key)
}

func TestWriteOldestFirst(t *testing.T) {
	type svc struct {
		sid     string
		created time.Time
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	byID := map[string]svc{}
	for _, sv := range []svc{{"IS3", t0}, {"IS1", t0.Add(time.Second)}, {"IS2", t0}} {
		byID[sv.sid] = sv
	}
	w := httptest.NewRecorder()
	WriteOldestFirst(w, listRequest(""), "services", byID,
		func(sv svc) time.Time { return sv.created },
		func(sv svc) string { return sv.sid })
	var body struct {
		Services []string `json:"services"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	assert.Equal(t, []string{"IS2", "IS3", "IS1"}, body.Services, "oldest first, SID order among equals")
}

func TestWriteJSONFailsCleanly(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, map[string]any{"bad": func() {}})
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, w.Body.String(), `"code":20500`)
}

func TestISO(t *testing.T) {
	assert.Equal(t, "2026-01-01T00:00:00Z", ISO(t0))
	assert.Equal(t, "2026-01-01T01:00:00Z", ISO(t0.In(time.FixedZone("X", 3600)).Add(time.Hour)))
	assert.Nil(t, ISOPtr(time.Time{}))
	assert.Equal(t, ptr("2026-01-01T00:00:00Z"), ISOPtr(t0))
}
