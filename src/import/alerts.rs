//! keepalived's mail settings of `global_defs` (`notification_email`,
//! `notification_email_from`, `smtp_server`, `smtp_helo_name`, `smtp_connect_timeout`,
//! `smtp_alert`, `smtp_alert_vrrp`, `smtp_alert_checker`) as the manifest's `alerts.mail` and
//! `alerts.events`. keepalived's defaults: a VRRP instance or a virtual server's quorum
//! mails only when `smtp_alert` (or its class's) says so; a real server mails unless they
//! say no.

use super::conf::Loc;
use super::value::Notes;
use super::vrrp::MailGlobals;
use crate::manifest::types::{AlertEvent, Alerts, MailAlerts};

/// The `alerts:` of one director's settings, with where they are; `None` when it sends no mail.
pub fn alerts(g: &MailGlobals, director: &str, notes: &mut Notes) -> Option<(Alerts, Loc)> {
    let (to, at) = g.to.clone()?;
    let Some((smtp_server, _)) = g.server.clone() else {
        let why = "`notification_email` without `smtp_server`: keepalived sends no mail; not imported";
        notes.note(&at, why.into());
        return None;
    };
    let from = g.from.clone().unwrap_or_else(|| {
        let from = format!("keepalived@{director}");
        notes.note(&at, format!("no `notification_email_from`: wrote `{from}` (keepalived uses its host's name)"));
        from
    });
    let checker = g.alert_checker.or(g.alert);
    let on = [
        (AlertEvent::Vrrp, g.alert_vrrp.or(g.alert).unwrap_or(false)),
        (AlertEvent::Backend, checker.unwrap_or(true)),
        (AlertEvent::Quorum, checker.unwrap_or(false)),
    ];
    let events: Vec<AlertEvent> = on.iter().filter(|(_, on)| *on).map(|(e, _)| *e).collect();
    let mail = MailAlerts {
        from,
        to,
        smtp_server,
        helo_name: g.helo.clone(),
        connect_timeout: g.connect_timeout.clone(),
        timeout: None,
    };
    let events = (events.len() < on.len()).then_some(events);
    Some((Alerts { mail: Some(mail), events, ..Alerts::default() }, at))
}
