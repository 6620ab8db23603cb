package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var fineGrainedRE = regexp.MustCompile(`^gtp_pat_[0-9A-Za-z]{36}\n$`)

// listedToken is a row of "admin token list --json".
type listedToken struct {
	ID               int64             `json:"id"`
	User             string            `json:"user"`
	Kind             string            `json:"kind"`
	Note             string            `json:"note"`
	Scopes           []string          `json:"scopes"`
	LastEight        string            `json:"token_last_eight"`
	Owner            string            `json:"resource_owner"`
	RepositoryAccess string            `json:"repository_access"`
	Repositories     []string          `json:"repositories"`
	Permissions      map[string]string `json:"permissions"`
	Approval         string            `json:"approval"`
}

// TestFineGrainedCommands creates fine-grained tokens from the command
// line, lists them beside classic ones with their resource owner and
// approval, reviews a member's request for an organization, and sets the
// organization's token policy.
func TestFineGrainedCommands(t *testing.T) {
	data := t.TempDir()
	admin := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, code := run(t, data, "", append([]string{"admin"}, args...)...)
		if code != 0 {
			t.Fatalf("admin %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out, errOut
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		admin("user", "create", "--username", u, "--email", u+"@example.com")
	}
	admin("org", "create", "acme", "--owner", "alice")
	admin("org", "member", "add", "acme", "bob")
	admin("repo", "create", "acme/a", "--private")
	admin("repo", "create", "acme/b", "--private")
	admin("repo", "create", "carol/x")

	t.Log("an owner's token for acme: the token alone on stdout, approved at once")
	out, errOut := admin("token", "create", "--fine-grained", "--user", "alice", "--note", "deploy", "--owner", "acme",
		"--repos", "a,acme/b", "--permissions", "contents:write,administration:read", "--description", "the deploy job", "--expires", "7d")
	if !fineGrainedRE.MatchString(out) {
		t.Fatalf("token create --fine-grained stdout must be the token alone: %q", out)
	}
	aliceTok := strings.TrimSpace(out)
	for _, want := range []string{"Fine-grained token", "for alice on acme", "repositories a,b", "contents:write", "administration:read", "expires ", "It is shown only now."} {
		if !strings.Contains(errOut, want) {
			t.Errorf("token create --fine-grained stderr lacks %q: %q", want, errOut)
		}
	}
	if strings.Contains(errOut, "Pending") || strings.Contains(errOut, aliceTok) {
		t.Errorf("token create --fine-grained stderr: %q", errOut)
	}

	t.Log("a member's token for acme is pending")
	out, errOut = admin("token", "create", "--fine-grained", "--user", "bob", "--note", "laptop", "--owner", "acme", "--repos", "all", "--permissions", "contents:read")
	if !fineGrainedRE.MatchString(out) || !strings.Contains(errOut, "all repositories of acme") || !strings.Contains(errOut, "Pending") ||
		!strings.Contains(errOut, "admin org token-review acme") {
		t.Fatalf("bob's token for acme: stdout %q, stderr %q", out, errOut)
	}
	bobTok := strings.TrimSpace(out)
	// The defaults: the user's own account, public repositories, no permission.
	out, errOut = admin("token", "create", "--fine-grained", "--user", "carol", "--note", "bare")
	if !fineGrainedRE.MatchString(out) || !strings.Contains(errOut, "for carol on carol: public repositories (read-only); permissions metadata:read;") {
		t.Fatalf("a bare fine-grained token: stdout %q, stderr %q", out, errOut)
	}
	// A classic token keeps its output.
	out, errOut = admin("token", "create", "--user", "carol", "--note", "classic", "--scopes", "repo")
	if !tokenRE.MatchString(out) || !strings.HasPrefix(errOut, "Token ") || !strings.Contains(errOut, "scopes repo;") {
		t.Fatalf("classic token create: stdout %q, stderr %q", out, errOut)
	}

	t.Log("admin token list shows both kinds, owners and approval")
	out, _ = admin("token", "list")
	for _, want := range []string{"KIND", "OWNER", "APPROVAL", "fine-grained", "classic", "deploy", "laptop", "pending", "approved",
		aliceTok[len(aliceTok)-8:], bobTok[len(bobTok)-8:]} {
		if !strings.Contains(out, want) {
			t.Errorf("token list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, aliceTok) || strings.Contains(out, bobTok) {
		t.Fatalf("token list shows a secret:\n%s", out)
	}
	tokens := func() map[string]listedToken {
		t.Helper()
		out, _ := admin("token", "list", "--json")
		var rows []listedToken
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("token list --json: %v\n%s", err, out)
		}
		m := map[string]listedToken{}
		for _, r := range rows {
			m[r.User+"/"+r.Note] = r
		}
		return m
	}
	rows := tokens()
	if r := rows["alice/deploy"]; r.Kind != "fine_grained" || r.Owner != "acme" || r.Approval != "approved" || r.RepositoryAccess != "selected" ||
		strings.Join(r.Repositories, ",") != "acme/a,acme/b" || r.Permissions["contents"] != "write" || r.Permissions["administration"] != "read" ||
		r.Permissions["metadata"] != "read" {
		t.Errorf("alice's token as listed: %+v", r)
	}
	if r := rows["bob/laptop"]; r.Kind != "fine_grained" || r.Owner != "acme" || r.Approval != "pending" || r.RepositoryAccess != "all" {
		t.Errorf("bob's token as listed: %+v", r)
	}
	if r := rows["carol/classic"]; r.Kind != "classic" || r.Owner != "" || r.Approval != "" || strings.Join(r.Scopes, ",") != "repo" {
		t.Errorf("carol's classic token as listed: %+v", r)
	}

	t.Log("acme's pending requests, and the review")
	out, _ = admin("org", "token-requests", "acme")
	if !strings.Contains(out, "laptop") || !strings.Contains(out, "bob") || strings.Contains(out, "deploy") {
		t.Errorf("token-requests acme:\n%s", out)
	}
	var reqs []struct {
		ID   int64  `json:"id"`
		User string `json:"user"`
		Name string `json:"name"`
	}
	out, _ = admin("org", "token-requests", "acme", "--json")
	if err := json.Unmarshal([]byte(out), &reqs); err != nil || len(reqs) != 1 || reqs[0].User != "bob" || reqs[0].Name != "laptop" {
		t.Fatalf("token-requests acme --json: %v\n%s", err, out)
	}
	bobID := strconv.FormatInt(reqs[0].ID, 10)
	_, errOut = admin("org", "token-review", "acme", bobID, "--approve", "--reason", "for the release")
	if want := `Approved token request ` + bobID + ` ("laptop" of bob) for acme.`; !strings.Contains(errOut, want) {
		t.Errorf("token-review --approve: %q, want %q", errOut, want)
	}
	if r := tokens()["bob/laptop"]; r.Approval != "approved" {
		t.Errorf("bob's token after the approval: %+v", r)
	}
	if out, errOut := admin("org", "token-requests", "acme"); out != "" || !strings.Contains(errOut, "No token requests") {
		t.Errorf("token-requests acme after the review: stdout %q, stderr %q", out, errOut)
	}

	t.Log("admin token access: narrowing keeps the approval, widening is a new request")
	_, errOut = admin("token", "access", bobID, "--repos", "a", "--permissions", "contents:read")
	if !strings.Contains(errOut, "Fine-grained token "+bobID+" on acme: repositories a; permissions metadata:read,contents:read.") || strings.Contains(errOut, "Pending") {
		t.Errorf("token access, narrower: %q", errOut)
	}
	if r := tokens()["bob/laptop"]; r.Approval != "approved" || r.RepositoryAccess != "selected" || strings.Join(r.Repositories, ",") != "acme/a" {
		t.Errorf("bob's token after narrowing: %+v", r)
	}
	_, errOut = admin("token", "access", bobID, "--repos", "a,b", "--permissions", "contents:read")
	if !strings.Contains(errOut, "Pending") || !strings.Contains(errOut, "admin org token-review acme "+bobID) {
		t.Errorf("token access, wider: %q", errOut)
	}
	if r := tokens()["bob/laptop"]; r.Approval != "pending" {
		t.Errorf("bob's token after widening: %+v", r)
	}
	if _, errOut, code := run(t, data, "", "admin", "token", "access", bobID, "--repos", "a"); code != 2 || !strings.Contains(errOut, "--repos and --permissions") {
		t.Errorf("token access without --permissions: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, data, "", "admin", "token", "access", bobID, "--repos", "carol/x", "--permissions", "contents:read"); code != 1 || !strings.Contains(errOut, "carol/x is not a repository of acme") {
		t.Errorf("token access with another owner's repository: exit %d, %q", code, errOut)
	}
	admin("org", "token-review", "acme", bobID, "--approve")
	told := false
	mails, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	for _, m := range mails {
		b, _ := os.ReadFile(m)
		if strings.Contains(string(b), "To: <bob@example.com>") {
			told = true
		}
	}
	if !told {
		t.Errorf("bob was not e-mailed the decision (%d files in the outbox)", len(mails))
	}
	// A denied request stays out of the list and is denied for good.
	admin("token", "create", "--fine-grained", "--user", "bob", "--note", "desktop", "--owner", "acme", "--repos", "a", "--permissions", "contents:read")
	deskID := strconv.FormatInt(tokens()["bob/desktop"].ID, 10)
	if _, errOut := admin("org", "token-review", "acme", deskID, "--deny"); !strings.Contains(errOut, "Denied token request "+deskID) {
		t.Errorf("token-review --deny: %q", errOut)
	}
	if r := tokens()["bob/desktop"]; r.Approval != "denied" {
		t.Errorf("bob's denied token as listed: %+v", r)
	}

	t.Log("acme's token policy")
	out, _ = admin("org", "token-policy", "acme")
	for _, want := range []string{"restrict-classic       false", "restrict-fine-grained  false", "require-approval       true",
		"max-classic-days       0 (no limit)", "max-fine-grained-days  0 (no limit)"} {
		if !strings.Contains(out, want) {
			t.Errorf("token-policy acme lacks %q:\n%s", want, out)
		}
	}
	out, errOut = admin("org", "token-policy", "acme", "--restrict-classic", "--max-fine-grained-days", "30", "--require-approval=false")
	if !strings.Contains(errOut, "Saved the personal access token policy of acme.") || !strings.Contains(out, "restrict-classic       true") ||
		!strings.Contains(out, "require-approval       false") || !strings.Contains(out, "max-fine-grained-days  30") {
		t.Errorf("token-policy acme with changes: stdout %q, stderr %q", out, errOut)
	}
	var policy map[string]any
	out, _ = admin("org", "token-policy", "acme", "--json")
	if err := json.Unmarshal([]byte(out), &policy); err != nil || policy["restrict_classic"] != true || policy["require_approval"] != false ||
		policy["max_fine_grained_days"] != float64(30) || policy["restrict_fine_grained"] != false {
		t.Errorf("token-policy acme --json: %v\n%s", err, out)
	}
	// Without approval required, a member's new token is approved at once.
	if _, errOut := admin("token", "create", "--fine-grained", "--user", "bob", "--note", "ci", "--owner", "acme", "--repos", "a", "--expires", "30d"); strings.Contains(errOut, "Pending") {
		t.Errorf("a member's token without approval required: %q", errOut)
	}
	if r := tokens()["bob/ci"]; r.Approval != "approved" {
		t.Errorf("bob's token without approval required: %+v", r)
	}
	// The lifetime bound applies at creation.
	if _, errOut, code := run(t, data, "", "admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "long", "--owner", "acme", "--expires", "60d"); code != 1 ||
		!strings.Contains(errOut, "at most 30 days") {
		t.Errorf("a token longer than acme allows: exit %d, %q", code, errOut)
	}
	admin("org", "token-policy", "acme", "--restrict-fine-grained")
	if _, errOut, code := run(t, data, "", "admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "refused", "--owner", "acme"); code != 1 ||
		!strings.Contains(errOut, "`acme` forbids access via a fine-grained personal access token") {
		t.Errorf("a token for an organization that restricts them: exit %d, %q", code, errOut)
	}
	out, _ = admin("org", "token-policy", "acme", "--restrict-classic=false", "--restrict-fine-grained=false", "--max-fine-grained-days", "0")
	if !strings.Contains(out, "restrict-classic       false") || !strings.Contains(out, "restrict-fine-grained  false") || !strings.Contains(out, "max-fine-grained-days  0 (no limit)") {
		t.Errorf("token-policy acme reset:\n%s", out)
	}

	t.Log("a revoked fine-grained token leaves the list")
	admin("token", "revoke", strconv.FormatInt(rows["alice/deploy"].ID, 10))
	if _, ok := tokens()["alice/deploy"]; ok {
		t.Errorf("alice's revoked token is still listed")
	}

	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"unknown permission":     {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--permissions", "contnts:read"}, 2, `unknown permission "contnts"`},
		"bad level":              {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--permissions", "contents:admin"}, 2, "the level is read, write or none"},
		"level too high":         {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--permissions", "metadata:write"}, 2, "metadata can only be read"},
		"no level":               {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--permissions", "contents"}, 2, "NAME:read or NAME:write"},
		"owner not a member":     {[]string{"admin", "token", "create", "--fine-grained", "--user", "carol", "--note", "x", "--owner", "acme"}, 1, `the resource owner must be carol or an organization carol belongs to; "acme" is neither`},
		"owner another user":     {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--owner", "carol"}, 1, `"carol" is neither`},
		"owner unknown":          {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--owner", "nobody"}, 1, `"nobody" is neither`},
		"repo of another owner":  {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--owner", "acme", "--repos", "a,carol/x"}, 1, "carol/x is not a repository of acme"},
		"unknown repo":           {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--owner", "acme", "--repos", "zz"}, 1, `acme has no repository named "zz"`},
		"empty repo list":        {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--repos", ","}, 2, "give public, all, or repository names"},
		"org token never":        {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--owner", "acme", "--expires", "never"}, 1, "must expire"},
		"account perm on org":    {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--owner", "acme", "--permissions", "profile:read"}, 1, "account permissions such as profile"},
		"org perm on user":       {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--permissions", "members:read"}, 1, "organization permissions such as members"},
		"duplicate name":         {[]string{"admin", "token", "create", "--fine-grained", "--user", "bob", "--note", "laptop"}, 1, "already exists"},
		"name of a classic":      {[]string{"admin", "token", "create", "--fine-grained", "--user", "carol", "--note", "classic"}, 1, "already exists"},
		"scopes on fine-grained": {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice", "--note", "x", "--scopes", "repo"}, 2, "--permissions, not --scopes"},
		"owner on classic":       {[]string{"admin", "token", "create", "--user", "alice", "--note", "x", "--owner", "acme"}, 2, "--owner is for fine-grained tokens: add --fine-grained"},
		"permissions on classic": {[]string{"admin", "token", "create", "--user", "alice", "--note", "x", "--permissions", "contents:read"}, 2, "--permissions is for fine-grained tokens"},
		"fine-grained no note":   {[]string{"admin", "token", "create", "--fine-grained", "--user", "alice"}, 2, "needs --user and --note"},
		"fine-grained no user":   {[]string{"admin", "token", "create", "--fine-grained", "--user", "zed", "--note", "x"}, 1, `no user named "zed"`},
		"policy unknown org":     {[]string{"admin", "org", "token-policy", "nope"}, 1, `no organization named "nope"`},
		"policy of a user":       {[]string{"admin", "org", "token-policy", "carol"}, 1, `no organization named "carol"`},
		"policy no org":          {[]string{"admin", "org", "token-policy"}, 2, "admin org token-policy needs ORG"},
		"policy negative days":   {[]string{"admin", "org", "token-policy", "acme", "--max-classic-days", "-1"}, 2, "--max-classic-days -1"},
		"policy too many days":   {[]string{"admin", "org", "token-policy", "acme", "--max-fine-grained-days", "4000"}, 2, "up to 3650"},
		"policy bad bool":        {[]string{"admin", "org", "token-policy", "acme", "--restrict-classic=maybe"}, 2, "invalid boolean value"},
		"requests unknown org":   {[]string{"admin", "org", "token-requests", "nope"}, 1, `no organization named "nope"`},
		"requests no org":        {[]string{"admin", "org", "token-requests"}, 2, "needs ORG"},
		"review no decision":     {[]string{"admin", "org", "token-review", "acme", bobID}, 2, "--approve or --deny"},
		"review both decisions":  {[]string{"admin", "org", "token-review", "acme", bobID, "--approve", "--deny"}, 2, "--approve or --deny"},
		"review bad id":          {[]string{"admin", "org", "token-review", "acme", "abc", "--approve"}, 2, `"abc" is not a token request ID`},
		"review unknown id":      {[]string{"admin", "org", "token-review", "acme", "999", "--approve"}, 1, "acme has no token request with ID 999"},
		"review reviewed":        {[]string{"admin", "org", "token-review", "acme", bobID, "--deny"}, 1, "is not waiting for review: it is approved"},
		"review denied":          {[]string{"admin", "org", "token-review", "acme", deskID, "--approve"}, 1, "is not waiting for review: it is denied"},
		"review classic":         {[]string{"admin", "org", "token-review", "acme", strconv.FormatInt(rows["carol/classic"].ID, 10), "--approve"}, 1, "has no token request with ID"},
		"review unknown org":     {[]string{"admin", "org", "token-review", "nope", bobID, "--approve"}, 1, `no organization named "nope"`},
	} {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := run(t, data, "", tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) || out != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, tc.code, out, errOut, tc.msg)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("error message should be one line:\n%s", errOut)
			}
		})
	}
}

// TestFineGrainedHelp: the new commands are in the overview and the
// group's list, and their help lists every flag with its usage.
func TestFineGrainedHelp(t *testing.T) {
	out, _, code := gatehouse(t, "help")
	for _, want := range []string{"gatehouse admin token create --user NAME --note N", "gatehouse admin org token-policy ORG",
		"gatehouse admin org token-requests ORG", "gatehouse admin org token-review ORG ID --approve|--deny"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("help lacks %q (exit %d)", want, code)
		}
	}
	out, _, _ = gatehouse(t, "help", "admin", "org")
	if !strings.Contains(out, "gatehouse admin org token-review") || !strings.Contains(out, "gatehouse admin org member add") {
		t.Errorf("help admin org:\n%s", out)
	}
	for cmd, flags := range map[string][]string{
		"admin token create":       {"--fine-grained\n", "--owner string\n", `--repos string  (default "public")`, "--permissions string\n", "--description string\n", "--scopes string\n", `--expires string  (default "30d")`},
		"admin token list":         {"--user string\n", "--json\n"},
		"admin org token-policy":   {"--restrict-classic\n", "--restrict-fine-grained\n", "--require-approval\n", "--max-classic-days int  (default 0)", "--max-fine-grained-days int  (default 0)", "--json\n"},
		"admin org token-requests": {"--json\n"},
		"admin org token-review":   {"--approve\n", "--deny\n", "--reason string\n"},
	} {
		out, errOut, code := gatehouse(t, append([]string{"help"}, strings.Fields(cmd)...)...)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "Usage: gatehouse "+cmd) {
			t.Errorf("help %s: exit %d, stderr %q\n%s", cmd, code, errOut, out)
			continue
		}
		for _, f := range flags {
			if !strings.Contains(out, "  "+f) {
				t.Errorf("help %s lacks %q:\n%s", cmd, f, out)
			}
		}
	}
	out, _, _ = gatehouse(t, "help", "admin", "token", "create")
	for _, want := range []string{"contents, administration (repository)", "members, organization_administration (organization)",
		"email_addresses, git_ssh_keys, profile (account)", "--fine-grained --owner acme --repos app,docs --permissions contents:write"} {
		if !strings.Contains(out, want) {
			t.Errorf("help admin token create lacks %q:\n%s", want, out)
		}
	}
}
