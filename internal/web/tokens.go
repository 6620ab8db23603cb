package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/token"
)

// tokenRow is one line of the token list.
type tokenRow struct {
	ID       int64
	Note     string
	Scopes   string
	LastUsed string
	Expiry   string
	Expired  bool
	Never    bool
	Owner    string // on the admin list
	// FineGrained marks a fine-grained token, whose Scopes are its
	// permissions.
	FineGrained bool
}

func (h *Handler) tokenRow(loc *Localizer, t *gatehouse.Token) tokenRow {
	now := h.now()
	row := tokenRow{ID: t.ID, Note: t.Note, LastUsed: loc.LastUsed(t.LastUsedAt, now), FineGrained: t.FineGrained()}
	if t.FineGrained() {
		row.Scopes = permSummary(t)
	} else if len(t.Scopes) == 0 {
		row.Scopes = loc.T("tokens.no_scopes")
	} else {
		row.Scopes = strings.Join(t.Scopes, ", ")
	}
	switch {
	case t.ExpiresAt.IsZero():
		row.Never, row.Expiry = true, loc.T("tokens.never_expires")
	case t.Expired(now):
		row.Expired, row.Expiry = true, loc.T("tokens.expired_on", loc.Date(t.ExpiresAt))
	default:
		row.Expiry = loc.T("tokens.expires_on", loc.Date(t.ExpiresAt))
	}
	return row
}

// tokensData is the list of classic tokens.
type tokensData struct {
	Tokens []tokenRow
	// All counts the tokens of both kinds, which "revoke all" revokes.
	All int
}

func (h *Handler) handleTokens(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	tokens, err := h.cfg.Service.ListUserTokens(r.Context(), actor(r), viewer(r).ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := &tokensData{All: len(tokens)}
	for _, t := range tokens {
		if !t.FineGrained() {
			d.Tokens = append(d.Tokens, h.tokenRow(loc, t))
		}
	}
	h.render(w, r, http.StatusOK, "tokens", "tokens.title", "tokens", d)
}

// scopeNode is a checkbox of the scope tree.
type scopeNode struct {
	Name     string
	Desc     string
	Checked  bool
	Disabled bool // implied by a checked ancestor
	Children []*scopeNode
}

// scopeTree builds the checkbox tree in the registry's order with the
// selected scopes and everything they imply checked.
func scopeTree(loc *Localizer, selected []string) []*scopeNode {
	sel := map[string]bool{}
	for _, s := range selected {
		sel[s] = true
	}
	nodes := map[string]*scopeNode{}
	var roots []*scopeNode
	for _, s := range token.Scopes() {
		n := &scopeNode{Name: s.Name, Desc: loc.Scope(s.Name), Checked: sel[s.Name]}
		nodes[s.Name] = n
		if p := nodes[s.Parent]; s.Parent != "" && p != nil {
			if p.Checked {
				n.Checked, n.Disabled = true, true
			}
			p.Children = append(p.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}

// expiryOption is one choice of the expiration select.
type expiryOption struct {
	Value, Label string
	Selected     bool
	// Disabled: the chosen resource owner of a fine-grained token does
	// not allow it.
	Disabled bool
}

// expiryField is the expiration select with its live help line.
type expiryField struct {
	Options []expiryOption
	Choice  string
	Custom  string // YYYY-MM-DD
	MinDate string
	MaxDate string
	// SiteMaxDate is the latest date the site's policy allows, for the
	// script that applies an organization's limit when the owner changes.
	SiteMaxDate string
	Help        string
	Never       bool
	// Texts for the script that updates Help as the choice changes.
	DateText   string
	CustomText string
	NeverText  string
}

var presetDays = []int{7, 30, 60, 90}

// expiryChoices lists what the policy allows and the default choice.
func expiryChoices(p service.TokenPolicy) (choices []string, def string) {
	for _, d := range presetDays {
		if p.MaxLifetimeDays == 0 || d <= p.MaxLifetimeDays {
			choices = append(choices, strconv.Itoa(d))
		}
	}
	choices = append(choices, "custom")
	if !p.ExpirationRequired() {
		choices = append(choices, "none")
	}
	def = "30"
	if p.MaxLifetimeDays > 0 && p.MaxLifetimeDays < 30 {
		def = "custom"
		if len(choices) > 1 {
			def = choices[0]
		}
	}
	return choices, def
}

func (h *Handler) expiryField(loc *Localizer, p service.TokenPolicy, choice, custom string) expiryField {
	now := h.now().UTC()
	choices, def := expiryChoices(p)
	ok := false
	for _, c := range choices {
		ok = ok || c == choice
	}
	if !ok {
		choice = def
	}
	f := expiryField{
		Choice:     choice,
		Custom:     custom,
		MinDate:    now.AddDate(0, 0, 1).Format(time.DateOnly),
		DateText:   loc.T("expiry.help_date"),
		CustomText: loc.T("expiry.help_custom"),
		NeverText:  loc.T("expiry.help_never"),
	}
	if latest := p.LatestExpiry(now); !latest.IsZero() {
		f.MaxDate = latest.Format(time.DateOnly)
	}
	for _, c := range choices {
		label := loc.T("expiry.days", c)
		switch c {
		case "custom":
			label = loc.T("expiry.custom")
		case "none":
			label = loc.T("expiry.none")
		}
		f.Options = append(f.Options, expiryOption{Value: c, Label: label, Selected: c == choice})
	}
	switch choice {
	case "none":
		f.Never, f.Help = true, f.NeverText
	case "custom":
		if d, err := time.Parse(time.DateOnly, custom); err == nil {
			f.Help = loc.T("expiry.help_date", loc.Date(d))
		} else {
			f.Help = f.CustomText
		}
	default:
		n, _ := strconv.Atoi(choice)
		f.Help = loc.T("expiry.help_date", loc.Date(now.AddDate(0, 0, n)))
	}
	return f
}

// expiresValue turns the form's choice into service.NewToken.Expires.
func expiresValue(choice, custom string) (string, bool) {
	switch choice {
	case "none":
		return "never", true
	case "custom":
		if _, err := time.Parse(time.DateOnly, custom); err != nil {
			return "", false
		}
		return custom, true
	}
	n, err := strconv.Atoi(choice)
	if err != nil || n < 1 || n > token.MaxExpiryDays {
		return "", false
	}
	return choice + "d", true
}

// tokenFormData serves the new, edit and regenerate pages.
type tokenFormData struct {
	Token   *tokenRow
	Note    string
	Expiry  expiryField
	Scopes  []*scopeNode
	Errors  formErrors
	Created string
}

func (h *Handler) policy(w http.ResponseWriter, r *http.Request) (service.TokenPolicy, bool) {
	p, err := h.cfg.Service.TokenPolicy(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return p, false
	}
	return p, true
}

func (h *Handler) handleTokenNew(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var scopes []string
	for _, s := range strings.Split(q.Get("scopes"), ",") {
		if s = strings.TrimSpace(s); token.KnownScope(s) {
			scopes = append(scopes, s)
		}
	}
	d := &tokenFormData{
		Note:   truncate(q.Get("description"), 200),
		Expiry: h.expiryField(loc, p, "", ""),
		Scopes: scopeTree(loc, scopes),
		Errors: formErrors{},
	}
	h.render(w, r, http.StatusOK, "token_new", "tokens.new_title", "tokens", d)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// tokenFormErrors words a service error for the token forms, or returns
// false when it is not a mistake in the form.
func tokenFormErrors(loc *Localizer, err error, p service.TokenPolicy, errs formErrors) bool {
	var ue *token.UnknownScopeError
	switch {
	case gatehouse.IsKind(err, gatehouse.Conflict):
		errs["note"] = loc.T("tokens.err_note_taken")
	case errors.Is(err, service.ErrExpirationRequired):
		errs["expires"] = loc.T("tokens.err_policy_required")
	case errors.Is(err, service.ErrLifetimeTooLong):
		errs["expires"] = loc.T("tokens.err_policy_max", p.MaxLifetimeDays)
	case errors.As(err, &ue):
		errs["scopes"] = loc.T("tokens.err_scope", ue.Scope)
	case gatehouse.IsKind(err, gatehouse.Invalid):
		var ge *gatehouse.Error
		field := ""
		if errors.As(err, &ge) {
			field = ge.Field
		}
		switch field {
		case "note":
			errs["note"] = loc.T("tokens.err_note_long")
		case "expires":
			errs["expires"] = loc.T("tokens.err_date")
		case "scopes":
			errs["scopes"] = gatehouse.ErrorMessage(err)
		default:
			errs[""] = gatehouse.ErrorMessage(err)
		}
	default:
		return false
	}
	return true
}

// checkTokenForm validates what the browser sent before the service does,
// so that every mistake is shown at once and in the page's language.
func (h *Handler) checkTokenForm(loc *Localizer, p service.TokenPolicy, note string, scopes []string, choice, custom string, withExpiry bool) formErrors {
	errs := formErrors{}
	switch n := strings.TrimSpace(note); {
	case n == "":
		errs["note"] = loc.T("tokens.err_note_blank")
	case len(n) > 200:
		errs["note"] = loc.T("tokens.err_note_long")
	}
	if _, _, err := token.Normalize(scopes); err != nil {
		var ue *token.UnknownScopeError
		if errors.As(err, &ue) {
			errs["scopes"] = loc.T("tokens.err_scope", ue.Scope)
		}
	}
	if withExpiry {
		h.checkExpiry(loc, p, choice, custom, errs)
	}
	return errs
}

func (h *Handler) checkExpiry(loc *Localizer, p service.TokenPolicy, choice, custom string, errs formErrors) {
	v, ok := expiresValue(choice, custom)
	if !ok {
		errs["expires"] = loc.T("tokens.err_date")
		return
	}
	exp, err := token.ParseExpiry(v, h.now())
	if err != nil {
		errs["expires"] = loc.T("tokens.err_date")
		return
	}
	if perr := p.Allows(exp, h.now()); perr != nil {
		tokenFormErrors(loc, perr, p, errs)
	}
}

func (h *Handler) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	note := r.PostFormValue("note")
	scopes := r.PostForm["scopes"]
	choice, custom := r.PostFormValue("expires"), r.PostFormValue("expires_date")
	errs := h.checkTokenForm(loc, p, note, scopes, choice, custom, true)
	var issued *service.IssuedToken
	if !errs.Any() {
		v, _ := expiresValue(choice, custom)
		var err error
		issued, err = h.cfg.Service.CreateToken(r.Context(), actor(r), service.NewToken{UserID: viewer(r).ID, Note: note, Scopes: scopes, Expires: v})
		if err != nil && !tokenFormErrors(loc, err, p, errs) {
			h.serverError(w, r, err)
			return
		}
	}
	if errs.Any() {
		d := &tokenFormData{Note: note, Expiry: h.expiryField(loc, p, choice, custom), Scopes: scopeTree(loc, scopes), Errors: errs}
		h.render(w, r, http.StatusUnprocessableEntity, "token_new", "tokens.new_title", "tokens", d)
		return
	}
	h.redirectFlash(w, r, "/settings/tokens", &flash{Kind: "token", Key: "tokens.created", Token: issued.Secret, TokenID: issued.Token.ID, Dropped: issued.Dropped})
}

// ownToken loads the {id} token of the viewer, answering 404 otherwise.
func (h *Handler) ownToken(w http.ResponseWriter, r *http.Request) (*gatehouse.Token, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	t, err := h.cfg.Service.FindToken(r.Context(), actor(r), id)
	if gatehouse.IsKind(err, gatehouse.NotFound) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return nil, false
	}
	if t.FineGrained() {
		// A fine-grained token has pages of its own.
		if r.Method == http.MethodGet {
			to := "/settings/personal-access-tokens/" + strconv.FormatInt(t.ID, 10) +
				strings.TrimPrefix(r.URL.Path, "/settings/tokens/"+r.PathValue("id"))
			http.Redirect(w, r, to, http.StatusSeeOther)
			return nil, false
		}
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	return t, true
}

func (h *Handler) editData(loc *Localizer, t *gatehouse.Token) *tokenFormData {
	row := h.tokenRow(loc, t)
	return &tokenFormData{Token: &row, Note: t.Note, Scopes: scopeTree(loc, t.Scopes), Errors: formErrors{}, Created: loc.Date(t.CreatedAt)}
}

func (h *Handler) handleTokenEdit(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownToken(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "token_edit", "tokens.edit_title", "tokens", h.editData(stateOf(r).loc, t))
}

func (h *Handler) handleTokenUpdate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	t, ok := h.ownToken(w, r)
	if !ok {
		return
	}
	note, scopes := r.PostFormValue("note"), r.PostForm["scopes"]
	errs := h.checkTokenForm(loc, service.TokenPolicy{}, note, scopes, "", "", false)
	var res *service.UpdatedToken
	if !errs.Any() {
		var err error
		res, err = h.cfg.Service.UpdateToken(r.Context(), actor(r), t.ID, note, scopes)
		if err != nil && !tokenFormErrors(loc, err, service.TokenPolicy{}, errs) {
			h.serverError(w, r, err)
			return
		}
	}
	if errs.Any() {
		d := h.editData(loc, t)
		d.Note, d.Scopes, d.Errors = note, scopeTree(loc, scopes), errs
		h.render(w, r, http.StatusUnprocessableEntity, "token_edit", "tokens.edit_title", "tokens", d)
		return
	}
	h.redirectFlash(w, r, "/settings/tokens", &flash{Kind: "notice", Key: "tokens.updated", Args: []string{res.Token.Note}, Dropped: res.Dropped})
}

func (h *Handler) handleRegenerateForm(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	t, ok := h.ownToken(w, r)
	if !ok {
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	d := h.editData(loc, t)
	d.Expiry = h.expiryField(loc, p, "", "")
	h.render(w, r, http.StatusOK, "token_regenerate", "tokens.regenerate_title", "tokens", d)
}

func (h *Handler) handleRegenerate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	t, ok := h.ownToken(w, r)
	if !ok {
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	choice, custom := r.PostFormValue("expires"), r.PostFormValue("expires_date")
	errs := formErrors{}
	h.checkExpiry(loc, p, choice, custom, errs)
	var issued *service.IssuedToken
	if !errs.Any() {
		v, _ := expiresValue(choice, custom)
		var err error
		issued, err = h.cfg.Service.RegenerateToken(r.Context(), actor(r), t.ID, v)
		if err != nil && !tokenFormErrors(loc, err, p, errs) {
			h.serverError(w, r, err)
			return
		}
	}
	if errs.Any() {
		d := h.editData(loc, t)
		d.Expiry, d.Errors = h.expiryField(loc, p, choice, custom), errs
		h.render(w, r, http.StatusUnprocessableEntity, "token_regenerate", "tokens.regenerate_title", "tokens", d)
		return
	}
	h.redirectFlash(w, r, "/settings/tokens", &flash{Kind: "token", Key: "tokens.regenerated", Token: issued.Secret, TokenID: issued.Token.ID})
}

func (h *Handler) handleDeleteForm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownToken(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "token_delete", "tokens.delete_title", "tokens", h.editData(stateOf(r).loc, t))
}

func (h *Handler) handleDelete(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownToken(w, r)
	if !ok {
		return
	}
	if _, err := h.cfg.Service.DeleteToken(r.Context(), actor(r), t.ID); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		h.serverError(w, r, err)
		return
	}
	h.redirectFlash(w, r, "/settings/tokens", &flash{Kind: "notice", Key: "tokens.deleted", Args: []string{t.Note}})
}

// revokeAllData is the revoke-all confirmation.
type revokeAllData struct {
	Count int
	Error string
}

func (h *Handler) handleRevokeAllForm(w http.ResponseWriter, r *http.Request) {
	tokens, err := h.cfg.Service.ListUserTokens(r.Context(), actor(r), viewer(r).ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "tokens_revoke_all", "tokens.revoke_all_title", "tokens", &revokeAllData{Count: len(tokens)})
}

func (h *Handler) handleRevokeAll(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	u := viewer(r)
	if !strings.EqualFold(strings.TrimSpace(r.PostFormValue("confirm")), u.Login) {
		tokens, err := h.cfg.Service.ListUserTokens(r.Context(), actor(r), u.ID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		h.render(w, r, http.StatusUnprocessableEntity, "tokens_revoke_all", "tokens.revoke_all_title", "tokens",
			&revokeAllData{Count: len(tokens), Error: loc.T("tokens.revoke_all_mismatch")})
		return
	}
	n, err := h.cfg.Service.RevokeAllTokens(r.Context(), actor(r), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.redirectFlash(w, r, "/settings/tokens", &flash{Kind: "notice", Key: "tokens.revoked_all", Args: []string{strconv.Itoa(n)}})
}
