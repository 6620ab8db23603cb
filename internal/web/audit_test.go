package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Every token change made through the pages lands in the owner's
// security log with the viewer as actor, and an admin's revocation is
// told apart from the owner's deletion.
func TestAuditFromPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	bob := e.user("bob", false)
	bc := e.client()
	bc.signIn("bob", true)
	wantStatus(t, "create", bc.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"ci"}, "expires": {"7"}, "scopes": {"repo"}}), http.StatusSeeOther)
	secret := secretRe.FindString(bc.get("/settings/tokens").Body)
	wantStatus(t, "update", bc.post("/settings/tokens/1", "/settings/tokens/1", url.Values{"note": {"ci bot"}, "scopes": {"repo"}}), http.StatusSeeOther)
	wantStatus(t, "regenerate", bc.post("/settings/tokens/1/regenerate", "/settings/tokens/1/regenerate", url.Values{"expires": {"30"}}), http.StatusSeeOther)
	regenerated := secretRe.FindString(bc.get("/settings/tokens").Body)
	wantStatus(t, "create second", bc.post("/settings/tokens/new", "/settings/tokens", url.Values{"note": {"other"}, "expires": {"7"}}), http.StatusSeeOther)
	wantStatus(t, "delete", bc.post("/settings/tokens/2/delete", "/settings/tokens/2/delete", nil), http.StatusSeeOther)

	admin := e.client()
	admin.signIn("root", true)
	wantStatus(t, "admin revoke", admin.post("/admin/tokens", "/admin/tokens/1/revoke", nil), http.StatusSeeOther)

	evs, err := e.st.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: bob.ID}, gatehouse.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s by %d on %d", ev.Action, ev.ActorID, ev.TokenID))
		if secret != "" && strings.Contains(fmt.Sprintf("%+v", *ev), secret) || regenerated != "" && strings.Contains(fmt.Sprintf("%+v", *ev), regenerated) {
			t.Errorf("event holds a secret: %+v", *ev)
		}
		if ev.IP != "127.0.0.1" {
			t.Errorf("event from %q, want 127.0.0.1", ev.IP)
		}
	}
	want := []string{
		"personal_access_token.admin_revoke by 1 on 1",
		"personal_access_token.destroy by 2 on 2",
		"personal_access_token.create by 2 on 2",
		"personal_access_token.regenerate by 2 on 1",
		"personal_access_token.update by 2 on 1",
		"personal_access_token.create by 2 on 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bob's log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	page := bc.get("/settings/security-log").Body
	if !strings.Contains(page, "Token revoked by an administrator") || !strings.Contains(page, "<td>root</td>") {
		t.Error("the security log does not show the revocation by root")
	}

	// A wrong password at sign-in and at the sudo prompt.
	e.clock.Set(fixedNow.Add(time.Hour))
	visitor := e.client()
	wantStatus(t, "wrong password", visitor.post("/login", "/login", url.Values{"login": {"bob"}, "password": {"nope"}}), http.StatusUnauthorized)
	evs, _ = e.st.ListAuditEvents(ctx, gatehouse.AuditFilter{UserID: bob.ID}, gatehouse.Page{PerPage: 1})
	if len(evs) != 1 || evs[0].Action != gatehouse.AuditAuthFailure || evs[0].Detail != service.ReasonPassword || evs[0].ActorID != 0 {
		t.Errorf("after a wrong password: %+v", evs)
	}
}

// The logs page through their events, newest first.
func TestAuditPagination(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	bob := e.user("bob", false)
	for i := range 2*auditPerPage + 5 {
		if err := e.st.RecordAuditEvent(ctx, &gatehouse.AuditEvent{Action: gatehouse.AuditTokenUpdate, UserID: bob.ID, ActorID: bob.ID,
			TokenID: 1, Note: fmt.Sprintf("note-%03d", i), At: fixedNow}); err != nil {
			t.Fatal(err)
		}
	}
	bc := e.client()
	bc.signIn("bob", false)
	first := bc.get("/settings/security-log").Body
	if !strings.Contains(first, "note-104") || strings.Contains(first, "note-054") || !strings.Contains(first, `href="/settings/security-log?page=2" rel="next"`) || strings.Contains(first, `rel="prev"`) {
		t.Errorf("first page wrong")
	}
	second := bc.get("/settings/security-log?page=2").Body
	if !strings.Contains(second, "note-054") || !strings.Contains(second, "note-005") || strings.Contains(second, "note-004") ||
		!strings.Contains(second, `href="/settings/security-log" rel="prev"`) || !strings.Contains(second, `page=3" rel="next"`) {
		t.Errorf("second page wrong")
	}
	last := bc.get("/settings/security-log?page=3").Body
	if !strings.Contains(last, "note-000") || strings.Contains(last, `rel="next"`) || !strings.Contains(last, `page=2" rel="prev"`) {
		t.Errorf("last page wrong")
	}
	beyond := bc.get("/settings/security-log?page=99999999999").Body
	if !strings.Contains(beyond, "No events recorded yet.") {
		t.Errorf("a page past the end is not empty")
	}
	ac := e.client()
	ac.signIn("root", false)
	if page := ac.get("/admin/audit-log?user=bob&page=2").Body; !strings.Contains(page, `href="/admin/audit-log?user=bob&amp;page=3"`) || !strings.Contains(page, `value="bob"`) {
		t.Errorf("the filter is lost between pages")
	}
}
