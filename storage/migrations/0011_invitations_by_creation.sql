-- The summary's response rate reads visit links (visits with a code) created in a period;
-- without this it walks every visit of the period, links or not.
CREATE INDEX visits_invitations_by_creation ON visits (created_at) WHERE code IS NOT NULL;
