//! The JSON API under `/api`. Every handler is documented in the OpenAPI document.

mod auth;
pub use auth::{secret_cookie, session_cookie};
mod carriers;
mod catalog;
mod counting;
mod cutting;
mod dashboard;
mod handover;
mod log;
mod orders;
mod packing;
mod printing;
pub(crate) mod reports;
mod scanners;
mod stock;

use super::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::list_users, auth::create_user))
        .routes(routes!(auth::set_password))
        .routes(routes!(auth::list_tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(catalog::list_producers, catalog::create_producer))
        .routes(routes!(catalog::list_products, catalog::create_product))
        .routes(routes!(catalog::get_product, catalog::put_product))
        .routes(routes!(catalog::list_locations, catalog::create_location))
        .routes(routes!(catalog::get_location))
        .routes(routes!(stock::receive))
        .routes(routes!(stock::move_stock))
        .routes(routes!(stock::adjust))
        .routes(routes!(stock::quarantine))
        .routes(routes!(stock::release))
        .routes(routes!(stock::scrap))
        .routes(routes!(stock::transfer))
        .routes(routes!(stock::list_units))
        .routes(routes!(stock::get_unit))
        .routes(routes!(stock::unit_ledger))
        .routes(routes!(stock::on_hand))
        .routes(routes!(stock::expiring))
        .routes(routes!(stock::lookup))
        .routes(routes!(stock::statement))
        .routes(routes!(counting::sheet))
        .routes(routes!(counting::count))
        .routes(routes!(counting::tasks))
        .routes(routes!(counting::runs, counting::create_run))
        .routes(routes!(counting::cancel_run))
        .routes(routes!(log::events))
        .routes(routes!(log::audit))
        .routes(routes!(scanners::list))
        .routes(routes!(scanners::put, scanners::delete))
        .routes(routes!(scanners::scans))
        .routes(routes!(scanners::receive))
        .routes(routes!(scanners::set_workflow))
        .routes(routes!(orders::intake, orders::list))
        .routes(routes!(orders::read, orders::change))
        .routes(routes!(orders::status))
        .routes(routes!(orders::counts))
        .routes(routes!(dashboard::flow))
        .routes(routes!(dashboard::throughput))
        .routes(routes!(dashboard::devices))
        .routes(routes!(dashboard::floor))
        .routes(routes!(dashboard::cutoffs))
        .routes(routes!(dashboard::exceptions))
        .routes(routes!(reports::throughput))
        .routes(routes!(orders::cancel))
        .routes(routes!(orders::release))
        .routes(routes!(orders::changes))
        .routes(routes!(orders::create_wave, orders::list_waves))
        .routes(routes!(orders::get_wave))
        .routes(routes!(orders::assign))
        .routes(routes!(orders::take))
        .routes(routes!(orders::next))
        .routes(routes!(orders::scan))
        .routes(routes!(orders::short))
        .routes(routes!(orders::undo))
        .routes(routes!(printing::list_printers))
        .routes(routes!(printing::put_printer, printing::delete_printer))
        .routes(routes!(printing::print))
        .routes(routes!(printing::list_jobs))
        .routes(routes!(printing::get_job))
        .routes(routes!(printing::job_label))
        .routes(routes!(printing::reprint))
        .routes(routes!(printing::templates))
        .routes(routes!(printing::render))
        .routes(routes!(printing::preview))
        .routes(routes!(cutting::list))
        .routes(routes!(cutting::put))
        .routes(routes!(cutting::command))
        .routes(routes!(cutting::jobs))
        .routes(routes!(cutting::job))
        .routes(routes!(cutting::replacements))
        .routes(routes!(cutting::retry_replacement))
        .routes(routes!(cutting::requeue))
        .routes(routes!(cutting::release))
        .routes(routes!(cutting::action))
        .routes(routes!(cutting::reprint_sticker))
        .routes(routes!(packing::open))
        .routes(routes!(packing::current))
        .routes(routes!(packing::leave))
        .routes(routes!(packing::scan))
        .routes(routes!(packing::short))
        .routes(routes!(packing::close))
        .routes(routes!(packing::list))
        .routes(routes!(packing::get))
        .routes(routes!(packing::void))
        .routes(routes!(packing::reprint))
        .routes(routes!(packing::packing_slip))
        .routes(routes!(packing::block, packing::blocks))
        .routes(routes!(packing::release))
        .routes(routes!(packing::shorts))
        .routes(routes!(packing::retry_short))
        .routes(routes!(packing::bookings))
        .routes(routes!(handover::open, handover::list))
        .routes(routes!(handover::get))
        .routes(routes!(handover::scan))
        .routes(routes!(handover::close))
        .routes(routes!(handover::list_pdf))
        .routes(routes!(handover::return_scan, handover::returns))
        .routes(routes!(carriers::list))
        .routes(routes!(carriers::push))
        .routes(routes!(carriers::pushes))
        .routes(routes!(carriers::pull))
        .routes(routes!(carriers::exceptions))
        .routes(routes!(carriers::ack))
        .routes(routes!(carriers::resend))
        .routes(routes!(carriers::manual))
        .merge(imports())
}

/// CSV imports take larger bodies than the JSON endpoints.
fn imports() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalog::import_products))
        .routes(routes!(catalog::import_locations))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::service::import::MAX_IMPORT_BYTES,
        ))
}

/// The largest JSON body any other endpoint accepts.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
