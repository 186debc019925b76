//! The [`Store`] operations, each one statement or one short transaction (see the table in the
//! crate docs).

use super::*;
use crate::{exec, row};

impl PostgresStore {
    async fn insert_grant_inner(&self, new: NewGrant) -> Result<InsertOutcome, StoreError> {
        let grant = &new.grant;
        let (grant_json, access_json) = (to_json(grant)?, to_json(&new.access)?);
        let refresh_json = new.refresh.as_ref().map(to_json).transpose()?;
        let active = new.refresh.as_ref().map(|r| r.hash.to_string());
        let mut client = self.connection().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        // The subject's lock (shared: other insertions need not wait), then the grant's: the
        // revocations take one each, exclusively, so no order deadlocks, and neither can slip
        // between this check and these inserts.
        exec(&tx, SHARED_LOCK, &[&format!("subject:{}", grant.subject.as_str())]).await?;
        exec(&tx, LOCK, &[&format!("grant:{}", grant.grant_id.as_str())]).await?;
        let revoked = row(
            &tx,
            "SELECT 1 FROM oauth21_revoked_grants WHERE grant_id = $1
                 UNION ALL
                 SELECT 1 FROM oauth21_revoked_subjects WHERE subject = $2 AND revoked_at >= $3",
            &[&grant.grant_id.as_str(), &grant.subject.as_str(), &grant.authorized_at],
        )
        .await?;
        if revoked.is_some() {
            return Ok(InsertOutcome::GrantRevoked);
        }
        let inserted = exec(
            &tx,
            "INSERT INTO oauth21_grants (grant_id, subject, data, active, expires_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
            &[&grant.grant_id.as_str(), &grant.subject.as_str(), &grant_json, &active, &grant.expires_at],
        )
        .await?;
        let mut tokens = vec![("access", new.access.hash, access_json, new.access.expires_at)];
        if let (Some(refresh), Some(json)) = (&new.refresh, refresh_json) {
            tokens.push(("refresh", refresh.hash, json, refresh.grant_expires_at));
        }
        let mut stored = inserted;
        for (kind, hash, json, expires_at) in &tokens {
            stored += exec(
                &tx,
                "INSERT INTO oauth21_tokens (hash, kind, grant_id, subject, data, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&hash.to_string(), kind, &grant.grant_id.as_str(), &grant.subject.as_str(), json, expires_at],
            )
            .await?;
        }
        if stored != 1 + tokens.len() as u64 {
            // Dropping the transaction rolls it back: nothing of this grant is stored.
            return Err(StoreError::backend("grant or token collision"));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(InsertOutcome::Inserted)
    }

    async fn rotate_refresh_inner(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
        let grant_id = rotation.refresh.grant_id.as_str();
        let from = rotation.from.to_string();
        let new_hash = rotation.refresh.hash.to_string();
        let (access_json, refresh_json) = (to_json(&rotation.access)?, to_json(&rotation.refresh)?);
        let mut client = self.connection().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let Some(row) = row(
            &tx,
            "SELECT active, previous, retried, revoked, subject FROM oauth21_grants WHERE grant_id = $1 FOR UPDATE",
            &[&grant_id],
        )
        .await?
        else {
            return Ok(RotateOutcome::NotActive);
        };
        let (active, previous, retried, revoked, subject): (Option<String>, Option<String>, bool, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        // The compare: which token this rotation replaces, if the family still expects it.
        let replaced = match (revoked, rotation.grace_retry, active) {
            (false, false, Some(active)) if active == from => active,
            (false, true, Some(active)) if previous.as_deref() == Some(from.as_str()) && !retried => active,
            _ => return Ok(RotateOutcome::NotActive),
        };
        if new_hash != replaced {
            exec(
                &tx,
                "UPDATE oauth21_grants SET active = $2, previous = $3, retried = $4 WHERE grant_id = $1",
                &[&grant_id, &new_hash, &from, &rotation.grace_retry],
            )
            .await?;
            exec(&tx, "UPDATE oauth21_tokens SET rotated_at = $2 WHERE hash = $1", &[&replaced, &rotation.at]).await?;
        }
        let access = &rotation.access;
        let refresh = &rotation.refresh;
        let inserted = exec(
            &tx,
            "INSERT INTO oauth21_tokens (hash, kind, grant_id, subject, data, expires_at)
                 VALUES ($1, 'access', $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&access.hash.to_string(), &grant_id, &subject, &access_json, &access.expires_at],
        )
        .await?;
        // A kept token (no rotation) is replaced in place, sliding its idle expiry.
        let refreshed = exec(
            &tx,
            "INSERT INTO oauth21_tokens (hash, kind, grant_id, subject, data, expires_at)
                 VALUES ($1, 'refresh', $2, $3, $4, $5)
                 ON CONFLICT (hash) DO UPDATE SET data = EXCLUDED.data
                 WHERE oauth21_tokens.kind = 'refresh' AND oauth21_tokens.grant_id = EXCLUDED.grant_id
                   AND EXCLUDED.hash = $6",
            &[&new_hash, &grant_id, &subject, &refresh_json, &refresh.grant_expires_at, &replaced],
        )
        .await?;
        if inserted + refreshed != 2 {
            return Err(StoreError::backend("token collision"));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(RotateOutcome::Rotated)
    }

    async fn revoke_grant_inner(&self, id: &GrantId, remember_until: OffsetDateTime) -> Result<(), StoreError> {
        let mut client = self.connection().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        exec(&tx, LOCK, &[&format!("grant:{}", id.as_str())]).await?;
        exec(
            &tx,
            "INSERT INTO oauth21_revoked_grants (grant_id, until) VALUES ($1, $2)
             ON CONFLICT (grant_id) DO UPDATE SET until = greatest(oauth21_revoked_grants.until, EXCLUDED.until)",
            &[&id.as_str(), &remember_until],
        )
        .await?;
        // First the row (a rotation in flight holds its lock and finishes first), then the
        // tokens, which at READ COMMITTED include what that rotation committed.
        exec(&tx, "UPDATE oauth21_grants SET revoked = true WHERE grant_id = $1", &[&id.as_str()]).await?;
        exec(&tx, "DELETE FROM oauth21_tokens WHERE grant_id = $1", &[&id.as_str()]).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn revoke_subject_inner(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut client = self.connection().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        exec(&tx, LOCK, &[&format!("subject:{}", subject.as_str())]).await?;
        exec(
            &tx,
            "INSERT INTO oauth21_revoked_subjects (subject, revoked_at, until) VALUES ($1, $2, $3)
             ON CONFLICT (subject) DO UPDATE SET
                 revoked_at = greatest(oauth21_revoked_subjects.revoked_at, EXCLUDED.revoked_at),
                 until = greatest(oauth21_revoked_subjects.until, EXCLUDED.until)",
            &[&subject.as_str(), &at, &remember_until],
        )
        .await?;
        exec(
            &tx,
            "INSERT INTO oauth21_revoked_grants (grant_id, until)
             SELECT grant_id, $2 FROM oauth21_grants WHERE subject = $1
             ON CONFLICT (grant_id) DO UPDATE SET until = greatest(oauth21_revoked_grants.until, EXCLUDED.until)",
            &[&subject.as_str(), &remember_until],
        )
        .await?;
        exec(&tx, "UPDATE oauth21_grants SET revoked = true WHERE subject = $1", &[&subject.as_str()]).await?;
        exec(&tx, "DELETE FROM oauth21_tokens WHERE subject = $1", &[&subject.as_str()]).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn take_code_inner(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        let hash = hash.to_string();
        let client = self.connection().await?;
        let taken =
            row(&client, "UPDATE oauth21_codes SET used = true WHERE hash = $1 AND NOT used RETURNING data", &[&hash])
                .await?;
        if let Some(row) = taken {
            return Ok(CodeTake::Taken(from_json(row.get(0))?));
        }
        let seen = row(&client, "SELECT data FROM oauth21_codes WHERE hash = $1", &[&hash]).await?;
        Ok(match seen {
            Some(row) => CodeTake::AlreadyTaken(from_json(row.get(0))?),
            None => CodeTake::NotFound,
        })
    }

    async fn refresh_token_inner(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let client = self.connection().await?;
        let row = row(
            &client,
            "SELECT data, rotated_at FROM oauth21_tokens WHERE hash = $1 AND kind = 'refresh'",
            &[&hash.to_string()],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut record: RefreshTokenRecord = from_json(row.get(0))?;
        if let Some(at) = row.get::<_, Option<OffsetDateTime>>(1) {
            record.rotated_at = Some(at);
        }
        Ok(Some(record))
    }

    async fn insert_device_request_inner(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> Result<DeviceInsert, StoreError> {
        let user_code = request.user_code.to_string();
        let json = to_json(&request)?;
        let mut client = self.connection().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        exec(&tx, LOCK, &[&format!("user-code:{user_code}")]).await?;
        let in_use = row(
            &tx,
            "SELECT 1 FROM oauth21_device_requests WHERE user_code = $1 AND expires_at > $2",
            &[&user_code, &at],
        )
        .await?;
        if in_use.is_some() {
            return Ok(DeviceInsert::UserCodeInUse);
        }
        let inserted = exec(
            &tx,
            "INSERT INTO oauth21_device_requests (hash, user_code, client_id, data, phase, interval_s, expires_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT DO NOTHING",
            &[
                &hash.to_string(),
                &user_code,
                &request.client_id.as_str(),
                &json,
                &request.interval,
                &request.expires_at,
            ],
        )
        .await?;
        if inserted != 1 {
            return Err(StoreError::backend("device code collision"));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(DeviceInsert::Inserted)
    }

    async fn device_request_by_user_code_inner(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<Option<(TokenHash, DeviceRequest)>, StoreError> {
        let client = self.connection().await?;
        let row = row(
            &client,
            "SELECT hash, data, phase, approval, interval_s, polled_at FROM oauth21_device_requests
                 WHERE user_code = $1 AND expires_at > $2 LIMIT 1",
            &[&user_code.to_string(), &at],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let hash = TokenHash::try_from(row.get::<_, String>(0))
            .map_err(|_| StoreError::backend("a device request's digest is malformed"))?;
        Ok(Some((hash, device_request(&row, 1)?)))
    }

    async fn poll_device_request_inner(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> Result<Option<DevicePoll>, StoreError> {
        let hash = hash.to_string();
        let mut client = self.connection().await?;
        let tx = client.transaction().await.map_err(db_error)?;
        let row = row(
            &tx,
            "SELECT data, phase, approval, interval_s, polled_at FROM oauth21_device_requests
                 WHERE hash = $1 AND client_id = $2 FOR UPDATE",
            &[&hash, &client_id.as_str()],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut request = device_request(&row, 0)?;
        let too_soon = request.last_polled_at.is_some_and(|last| at < last + time::Duration::seconds(request.interval));
        request.last_polled_at = Some(at);
        let (poll, phase) = if request.state == DeviceState::Pending && too_soon {
            request.interval += 5;
            (DevicePoll::SlowDown(request.clone()), "pending")
        } else if matches!(request.state, DeviceState::Approved { .. }) && request.expires_at > at {
            (DevicePoll::Redeemed(request.clone()), "redeemed")
        } else {
            (DevicePoll::Current(request.clone()), phase_of(&request.state))
        };
        exec(
            &tx,
            "UPDATE oauth21_device_requests SET polled_at = $2, interval_s = $3, phase = $4 WHERE hash = $1",
            &[&hash, &at, &request.interval, &phase],
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some(poll))
    }
}

fn phase_of(state: &DeviceState) -> &'static str {
    match state {
        DeviceState::Pending => "pending",
        DeviceState::Approved { .. } => "approved",
        DeviceState::Denied => "denied",
        _ => "redeemed",
    }
}

/// A device request from a row's `data, phase, approval, interval_s, polled_at`, from column
/// `first` on: the record as inserted, with the fields that change laid over it.
fn device_request(row: &tokio_postgres::Row, first: usize) -> Result<DeviceRequest, StoreError> {
    let mut request: DeviceRequest = from_json(row.get(first))?;
    request.interval = row.get(first + 3);
    request.last_polled_at = row.get(first + 4);
    request.state = match row.get::<_, &str>(first + 1) {
        "pending" => DeviceState::Pending,
        "approved" => from_json(row.get::<_, Option<&str>>(first + 2).unwrap_or("null"))?,
        "denied" => DeviceState::Denied,
        _ => DeviceState::Redeemed,
    };
    Ok(request)
}

impl Store for PostgresStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SINGLE_USE_CLAIMS
            .union(Capabilities::PUSHED_REQUESTS)
            .union(Capabilities::CLIENT_REGISTRATION)
            .union(Capabilities::DEVICE_REQUESTS)
    }

    async fn claim_once(
        &self,
        key: &TokenHash,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let claimed = self
            .text(
                "INSERT INTO oauth21_claims (hash, until) VALUES ($1, $2)
                 ON CONFLICT (hash) DO UPDATE SET until = EXCLUDED.until WHERE oauth21_claims.until <= $3
                 RETURNING hash",
                &[&key.to_string(), &until, &at],
            )
            .await?;
        Ok(if claimed.is_some() { ClaimOutcome::Claimed } else { ClaimOutcome::AlreadyClaimed })
    }

    async fn insert_pushed_request(
        &self,
        hash: &TokenHash,
        request: PushedRequest,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _ = at;
        let json = to_json(&request)?;
        let inserted = self
            .execute(
                "INSERT INTO oauth21_pushed_requests (hash, data, until) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&hash.to_string(), &json, &until],
            )
            .await?;
        if inserted == 1 { Ok(()) } else { Err(StoreError::backend("a pushed request with this digest exists")) }
    }

    async fn pushed_request(&self, hash: &TokenHash, at: OffsetDateTime) -> Result<Option<PushedRequest>, StoreError> {
        let hash = hash.to_string();
        let found =
            self.text("SELECT data FROM oauth21_pushed_requests WHERE hash = $1 AND until > $2", &[&hash, &at]).await?;
        found.as_deref().map(from_json).transpose()
    }

    async fn insert_device_request(
        &self,
        hash: &TokenHash,
        request: DeviceRequest,
        at: OffsetDateTime,
    ) -> Result<DeviceInsert, StoreError> {
        self.deadline(self.insert_device_request_inner(hash, request, at)).await
    }

    async fn device_request_by_user_code(
        &self,
        user_code: &TokenHash,
        at: OffsetDateTime,
    ) -> Result<Option<(TokenHash, DeviceRequest)>, StoreError> {
        self.deadline(self.device_request_by_user_code_inner(user_code, at)).await
    }

    async fn decide_device_request(
        &self,
        hash: &TokenHash,
        decision: DeviceState,
        at: OffsetDateTime,
    ) -> Result<DeviceDecided, StoreError> {
        let (phase, approval) = match &decision {
            DeviceState::Approved { .. } => ("approved", Some(to_json(&decision)?)),
            DeviceState::Denied => ("denied", None),
            _ => return Err(StoreError::backend("a decision is an approval or a denial")),
        };
        let decided = self
            .execute(
                "UPDATE oauth21_device_requests SET phase = $2, approval = $3
                 WHERE hash = $1 AND phase = 'pending' AND expires_at > $4",
                &[&hash.to_string(), &phase, &approval, &at],
            )
            .await?;
        Ok(if decided == 1 { DeviceDecided::Decided } else { DeviceDecided::NotPending })
    }

    async fn poll_device_request(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        at: OffsetDateTime,
    ) -> Result<Option<DevicePoll>, StoreError> {
        self.deadline(self.poll_device_request_inner(hash, client_id, at)).await
    }

    async fn register_client(&self, client: &Client, at: OffsetDateTime) -> Result<(), StoreError> {
        let _ = at;
        let json = to_json(client)?;
        let inserted = self
            .execute(
                "INSERT INTO oauth21_clients (id, data) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&client.id().as_str(), &json],
            )
            .await?;
        if inserted == 1 { Ok(()) } else { Err(StoreError::backend("a client with this id exists")) }
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let found = self.text("SELECT data FROM oauth21_clients WHERE id = $1", &[&id.as_str()]).await?;
        // Read through the core's checks: a stored client is validated like a registration.
        found.as_deref().map(from_json).transpose()
    }

    async fn insert_code(&self, code: CodeRecord) -> Result<(), StoreError> {
        let json = to_json(&code)?;
        let inserted = self
            .execute(
                "INSERT INTO oauth21_codes (hash, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&code.hash.to_string(), &json, &code.expires_at],
            )
            .await?;
        if inserted == 1 { Ok(()) } else { Err(StoreError::backend("authorization code collision")) }
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        self.deadline(self.take_code_inner(hash)).await
    }

    async fn insert_grant(&self, grant: NewGrant) -> Result<InsertOutcome, StoreError> {
        self.deadline(self.insert_grant_inner(grant)).await
    }

    async fn rotate_refresh(&self, rotation: Rotation) -> Result<RotateOutcome, StoreError> {
        self.deadline(self.rotate_refresh_inner(rotation)).await
    }

    async fn revoke_grant(
        &self,
        id: &GrantId,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _ = at;
        self.deadline(self.revoke_grant_inner(id, remember_until)).await
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.execute("DELETE FROM oauth21_tokens WHERE hash = $1 AND kind = 'access'", &[&hash.to_string()]).await?;
        Ok(())
    }

    async fn revoke_subject(
        &self,
        subject: &Subject,
        at: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.deadline(self.revoke_subject_inner(subject, at, remember_until)).await
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError> {
        let hash = hash.to_string();
        let found = self.text("SELECT data FROM oauth21_tokens WHERE hash = $1 AND kind = 'access'", &[&hash]).await?;
        found.as_deref().map(from_json).transpose()
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.deadline(self.refresh_token_inner(hash)).await
    }
}
