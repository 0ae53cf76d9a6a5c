use async_trait::async_trait;
use sqlx::types::Json;

use super::SqliteStore;
use crate::{NewUser, Result, StoreError, User, UserStore};

const USER_COLUMNS: &str =
    "id, username, name, type, password_hash, permissions, status, created_at, updated_at";

#[async_trait]
impl UserStore for SqliteStore {
    async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM rebound_users").fetch_one(&self.pool).await?)
    }

    async fn create_user(&self, user: NewUser) -> Result<User> {
        let sql = format!(
            "INSERT INTO rebound_users (username, name, type, password_hash, permissions)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {USER_COLUMNS}"
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
        let sql = format!("SELECT {USER_COLUMNS} FROM rebound_users WHERE username = ?1");
        Ok(sqlx::query_as(&sql).bind(username).fetch_optional(&self.pool).await?)
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM rebound_users ORDER BY id");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    async fn delete_user(&self, id: i64) -> Result<()> {
        // One statement: SQLite runs writers one at a time, so the count of
        // the other holders of "*" cannot change between the check and the delete.
        let r = sqlx::query(
            "DELETE FROM rebound_users WHERE id = ?1 AND (
                 NOT EXISTS (SELECT 1 FROM json_each(rebound_users.permissions) WHERE value = ?2)
                 OR EXISTS (SELECT 1 FROM rebound_users o, json_each(o.permissions) p
                            WHERE o.id <> ?1 AND o.status = 'enabled' AND p.value = ?2))",
        )
        .bind(id)
        .bind(crate::ALL_PERMISSIONS)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 1 {
            return Ok(());
        }
        let username: Option<String> = sqlx::query_scalar("SELECT username FROM rebound_users WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Err(match username {
            Some(u) => crate::last_admin(&u),
            None => StoreError::not_found(format!("user {id}")),
        })
    }
}
