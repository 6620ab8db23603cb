package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/gatehouse/gatehouse"
)

// Organizations' personal access token policies live in
// org_token_policies (migrations 0015), one row per organization that
// saved one.

// TokenPolicy returns the organization's token policy, and
// gatehouse.DefaultTokenPolicy when it never saved one, in one query.
// Returns NotFound when orgID is not an organization (a person included).
func (db *DB) TokenPolicy(ctx context.Context, orgID int64) (gatehouse.TokenPolicy, error) {
	const op = "load token policy"
	var (
		isOrg                      bool
		saved                      sql.NullInt64
		classic, fineGrained, appr sql.NullBool
		maxClassic, maxFineGrained sql.NullInt64
	)
	err := db.db.QueryRowContext(ctx, `SELECT u.is_org, p.org_id, p.restrict_classic,
		p.restrict_fine_grained, p.require_approval, p.max_classic_days, p.max_fine_grained_days
		FROM users u LEFT JOIN org_token_policies p ON p.org_id = u.id
		WHERE u.id = $1`, orgID).Scan(&isOrg, &saved, &classic, &fineGrained, &appr,
		&maxClassic, &maxFineGrained)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !isOrg {
		return gatehouse.TokenPolicy{}, gatehouse.E(op, gatehouse.NotFound, "organization not found")
	}
	if err != nil {
		return gatehouse.TokenPolicy{}, db.fail(op, err, "")
	}
	if !saved.Valid {
		return gatehouse.DefaultTokenPolicy(orgID), nil
	}
	return gatehouse.TokenPolicy{
		OrgID:               orgID,
		RestrictClassic:     classic.Bool,
		RestrictFineGrained: fineGrained.Bool,
		RequireApproval:     appr.Bool,
		MaxClassicDays:      int(maxClassic.Int64),
		MaxFineGrainedDays:  int(maxFineGrained.Int64),
	}, nil
}

// SetTokenPolicy saves p for p.OrgID, replacing the policy it had.
// Returns NotFound when p.OrgID is not an organization, Invalid for a
// negative lifetime bound or one beyond what the column keeps (2^31-1
// days).
func (db *DB) SetTokenPolicy(ctx context.Context, p gatehouse.TokenPolicy) error {
	const op = "save token policy"
	for _, days := range []int{p.MaxClassicDays, p.MaxFineGrainedDays} {
		if days < 0 || days > math.MaxInt32 {
			return gatehouse.E(op, gatehouse.Invalid, "a token lifetime bound is a number of days, 0 for none")
		}
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		isOrg, err := accountIsOrg(ctx, tx, op, p.OrgID, "organization not found")
		if err != nil {
			return err
		}
		if !isOrg {
			return gatehouse.E(op, gatehouse.NotFound, "organization not found")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO org_token_policies
			(org_id, restrict_classic, restrict_fine_grained, require_approval,
			 max_classic_days, max_fine_grained_days)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (org_id) DO UPDATE SET
				restrict_classic = excluded.restrict_classic,
				restrict_fine_grained = excluded.restrict_fine_grained,
				require_approval = excluded.require_approval,
				max_classic_days = excluded.max_classic_days,
				max_fine_grained_days = excluded.max_fine_grained_days`,
			p.OrgID, p.RestrictClassic, p.RestrictFineGrained, p.RequireApproval,
			p.MaxClassicDays, p.MaxFineGrainedDays)
		return err
	})
	if err != nil {
		return db.fail(op, err, "organization not found")
	}
	return nil
}
