//! Counting rows as another role sees them. The catalog runs with the extension owner's rights,
//! which bypass row-level security; an exact count must not. So the count switches the current
//! user to the account's role for one query, the way PostgreSQL itself runs maintenance code as a
//! table's owner: a local user-id change plus a security-restricted operation (no SET ROLE, no
//! temp objects, no changes of session state inside). A transaction or subtransaction abort
//! restores the user id too, so an error inside cannot leave the switch in place.

use pgrx::prelude::*;

use crate::errors::raise;

/// Restores the saved user id and security context when dropped.
pub(crate) struct RoleSwitch {
    saved_user: pg_sys::Oid,
    saved_context: i32,
}

impl RoleSwitch {
    pub(crate) fn to(role: pg_sys::Oid) -> Self {
        let mut saved_user = pg_sys::InvalidOid;
        let mut saved_context = 0;
        // SAFETY: plain reads and writes of the backend's current user id and security context.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            let restricted = (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION) as i32;
            pg_sys::SetUserIdAndSecContext(role, saved_context | restricted);
        }
        RoleSwitch { saved_user, saved_context }
    }
}

impl Drop for RoleSwitch {
    fn drop(&mut self) {
        // SAFETY: restores exactly what `to` saved.
        unsafe { pg_sys::SetUserIdAndSecContext(self.saved_user, self.saved_context) }
    }
}

/// `SELECT count(*)` of a relation as `role` would run it: its privileges and row-level security
/// policies apply. Raises insufficient_privilege when the role may not read the relation.
#[pg_extern(name = "_count_rows_as", volatile)]
pub fn count_rows_as(relid: pg_sys::Oid, role: pg_sys::Oid) -> i64 {
    let query: Option<String> = Spi::get_one_with_args(
        "SELECT format('SELECT count(*) FROM %I.%I', n.nspname, c.relname)
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = $1",
        &[relid.into()],
    )
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string(), None));
    let Some(query) = query else {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, format!("relation {relid:?} does not exist"), None);
    };
    let exists: Option<bool> =
        Spi::get_one_with_args("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE oid = $1)", &[role.into()])
            .unwrap_or(None);
    if exists != Some(true) {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("role {role:?} does not exist"), None);
    }
    let _switch = RoleSwitch::to(role);
    Spi::get_one::<i64>(&query)
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string(), None))
        .unwrap_or(0)
}
