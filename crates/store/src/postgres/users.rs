use async_trait::async_trait;
use sqlx::types::Json;

use super::PgStore;
use crate::{NewUser, Result, StoreError, User, UserStore};

const USER_COLUMNS: &str =
    "id, username, name, type, password_hash, permissions, status, created_at, updated_at";

#[async_trait]
impl UserStore for PgStore {
    async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM rebound_users").fetch_one(&self.pool).await?)
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        let sql = format!(
            "INSERT INTO rebound_users (username, name, type, password_hash, permissions)
             VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
        );
        sqlx::query_as(&sql)
            .bind(&user.username)
            .bind(&user.name)
            .bind(user.user_type.as_str())
            .bind(&user.password_hash)
            .bind(Json(&user.permissions))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::from_unique(e, &format!("user {:?}", user.username)))
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM rebound_users WHERE username = $1");
        Ok(sqlx::query_as(&sql).bind(username).fetch_optional(&self.pool).await?)
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM rebound_users ORDER BY id");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    async fn delete_user(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // Lock every enabled holder of "*" (in id order, so two deletes
        // cannot deadlock): a concurrent delete of another one waits here and
        // then no longer sees the row it lost.
        let holders: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM rebound_users WHERE permissions @> jsonb_build_array($1::text)
               AND status = 'enabled' ORDER BY id FOR UPDATE",
        )
        .bind(crate::ALL_PERMISSIONS)
        .fetch_all(&mut *tx)
        .await?;
        if holders == [id] {
            let username: String = sqlx::query_scalar("SELECT username FROM rebound_users WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            return Err(crate::last_admin(&username));
        }
        let r = sqlx::query("DELETE FROM rebound_users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("user {id}")));
        }
        tx.commit().await?;
        Ok(())
    }
}
