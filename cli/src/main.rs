//! `frontdesk`: run the front desk locally, or operate a deployment.

use clap::{Parser, Subcommand};
use frontdesk_cli::content::{self, PushError, Summary};
use frontdesk_cli::notify::{self, MailerKind, NotifyingStore};
use frontdesk_cli::serve::{self, StoreKind};
use frontdesk_cli::site::Site;
use frontdesk_cli::tables;
use frontdesk_shared::{BookingConfig, ContentConfig, NotifierConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The website front desk of a specialist cancer clinic.
#[derive(Debug, Parser)]
#[command(name = "frontdesk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log at debug level: an AWS call's whole error chain, as the SDK gives it.
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API locally (the default when no command is given).
    Serve(ServeArgs),
    /// Check the content folder, or load it into the content store.
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// Send the emails stored bookings still owe: after the notifier's
    /// failure queue alarm, or when the local server gave up retrying.
    Notify(NotifyArgs),
    /// Check a deployment's alarms (`alarms smoke-test` prints how to prove
    /// that one reaches a person).
    Alarms {
        #[command(subcommand)]
        command: AlarmsCommand,
    },
    /// Print the OpenAPI document for a content folder, or write it
    /// (`--out docs/openapi.json` is the checked-in copy, for the shipped content).
    Openapi {
        /// The content folder whose conditions are the bookable specialties.
        #[arg(long, env = "FRONTDESK_CONTENT_DIR", default_value = "content")]
        dir: PathBuf,
        /// Write the document to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Manage DynamoDB tables (for DynamoDB Local: `tables create`).
    Tables {
        #[command(subcommand)]
        command: TablesCommand,
    },
    /// Manage who may sign in to the staff desk (the stack's Cognito user
    /// pool, DESK_USER_POOL_ID).
    Staff {
        /// The desk's user pool: the stack's DeskUserPoolId output.
        #[arg(long, env = "DESK_USER_POOL_ID")]
        user_pool: String,
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Patients' data rights: everything held about a person.
    Subject {
        #[command(subcommand)]
        command: SubjectCommand,
    },
}

#[derive(Debug, Subcommand)]
enum SubjectCommand {
    /// Write everything held about the person an email address or phone
    /// number names (their bookings, the emails sent and what became of
    /// them, their consents, the clinic's handling and its audit trail) as
    /// JSON and as a page to send them; each booking's export is recorded
    /// on the audit trail under --by.
    Export(SubjectArgs),
    /// Erase every booking of the person an email address or phone number
    /// names: each booking, its emails' state, notes and guards in one
    /// transaction, its emails in the local outbox, and an `erased` entry
    /// on the audit trail in its place (when, by --by, why). Says what it
    /// cannot erase (backups, delivered emails).
    Erase {
        #[command(flatten)]
        subject: SubjectArgs,
        /// Why, in a few words that name no one (kept on the audit trail).
        #[arg(long)]
        reason: String,
        /// Erase what is found. Without it, nothing is erased: the command
        /// lists the bookings it would erase, and which identifier found
        /// each, to check first (a phone or an inbox may be shared).
        #[arg(long)]
        yes: bool,
    },
    /// Withdraw the person's opt-ins to the clinic's news: remove them from
    /// the marketing register (which keeps them, past their bookings'
    /// retention, until withdrawn) and record each on the audit trail.
    WithdrawMarketing {
        #[command(flatten)]
        subject: SubjectArgs,
        /// Which channel: `email`, `sms`, or `all`.
        #[arg(long, default_value = "all")]
        channel: String,
    },
}

#[derive(Debug, Parser)]
struct SubjectArgs {
    /// The person's email address, as they gave it on the form.
    #[arg(long)]
    email: Option<String>,
    /// The person's phone number.
    #[arg(long)]
    phone: Option<String>,
    /// The admin asking, by email address, as the audit trail names them.
    #[arg(long)]
    by: String,
    /// Which store holds the bookings (DynamoDB reads MATCH_KEY_SECRET,
    /// the stack's MatchKeySecret, for the key that finds them).
    #[arg(long, env = "FRONTDESK_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,
    /// Where the embedded store keeps its data (and its match key).
    #[arg(long, env = "FRONTDESK_DATA_DIR", default_value = ".frontdesk")]
    data_dir: PathBuf,
    /// The folder an export is written to (readable by its owner only);
    /// <data-dir>/exports when not given.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl SubjectArgs {
    /// The person named, checked before anything is opened.
    fn query(&self) -> Result<frontdesk_shared::rights::SubjectQuery, String> {
        frontdesk_shared::rights::SubjectQuery::parse(self.email.as_deref(), self.phone.as_deref())
    }

    /// The store, and the match key that finds a person's bookings in it.
    async fn open(
        &self,
    ) -> Result<(serve::LocalStore, frontdesk_shared::match_key::MatchKey), String> {
        // A mistyped folder would be made anew, with a key of its own, and
        // report that nobody was found.
        let database = serve::database_path(&self.data_dir);
        if self.store == StoreKind::Embedded && !database.exists() {
            return Err(format!(
                "{} holds no bookings ({} is missing): name the data folder with --data-dir",
                self.data_dir.display(),
                database.display()
            ));
        }
        let (config, _, store) = open(self.store, &self.data_dir).await?;
        let key = match self.store {
            StoreKind::Embedded => {
                let key = serve::local_match_key(&self.data_dir).map_err(|e| e.to_string())?;
                // Bookings kept before the subject tags are found too.
                store
                    .subjects
                    .tag_untagged(&key)
                    .await
                    .map_err(|e| e.to_string())?;
                key
            }
            StoreKind::Dynamodb => {
                let secret = config.match_key_secret.ok_or(
                    "set MATCH_KEY_SECRET to the stack's MatchKeySecret: bookings are found by tags made with it",
                )?;
                let sdk = frontdesk_shared::aws::load(config.store_timeout).await;
                frontdesk_shared::aws::match_key(&sdk, &secret)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        Ok((store, key))
    }
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Let EMAIL sign in, as staff or as an admin (or change their role).
    /// No password is made and no invitation sent: they sign in with a code
    /// emailed to them, then add a passkey.
    Add {
        /// Their email address, which is their name at sign-in.
        email: String,
        /// What they may do: staff (the inbox, requests, the workflow) or
        /// admin (also the audit trail).
        #[arg(long, value_enum)]
        role: frontdesk_cli::staff::Role,
    },
    /// Sign EMAIL out everywhere and remove them.
    Remove {
        /// Their email address.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum ContentCommand {
    /// Check every file; print each problem as `file:line: message` and
    /// exit non-zero if there is any.
    Check {
        /// The content folder.
        #[arg(long, env = "FRONTDESK_CONTENT_DIR", default_value = "content")]
        dir: PathBuf,
    },
    /// Check the folder, then make the store hold exactly its content:
    /// changed documents are replaced, deleted ones removed, the rest untouched.
    Push {
        /// The content folder.
        #[arg(long, env = "FRONTDESK_CONTENT_DIR", default_value = "content")]
        dir: PathBuf,
        /// Which store to load it into (`dynamodb`: the table CONTENT_TABLE names).
        #[arg(long, env = "FRONTDESK_STORE", value_enum, default_value_t = StoreKind::Embedded)]
        store: StoreKind,
        /// Where the embedded store keeps its data.
        #[arg(long, env = "FRONTDESK_DATA_DIR", default_value = ".frontdesk")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AlarmsCommand {
    /// Print the commands that confirm the alarm subscription and set one
    /// alarm off, so an operator sees an alarm arrive.
    SmokeTest {
        /// The stack's name, as deployed (`sam deploy`'s stack name).
        #[arg(long, default_value = "frontdesk")]
        stack: String,
        /// The template's `Stage` parameter, as deployed.
        #[arg(long, default_value = "prod")]
        stage: String,
    },
}

#[derive(Debug, Subcommand)]
enum TablesCommand {
    /// Create the bookings, guards, content, audit and marketing tables
    /// named by BOOKINGS_TABLE, GUARDS_TABLE, CONTENT_TABLE, AUDIT_TABLE and
    /// MARKETING_TABLE from the definitions in infra/template.yaml.
    Create,
    /// Put every booking stored before the desk into its inbox, as new
    /// (one conditional update each: safe to run again, or while bookings
    /// arrive).
    Backfill,
}

#[derive(Debug, Parser)]
struct NotifyArgs {
    /// Which store holds the bookings.
    #[arg(long, env = "FRONTDESK_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,
    /// Where the embedded store keeps its data (and the outbox its emails).
    #[arg(long, env = "FRONTDESK_DATA_DIR", default_value = ".frontdesk")]
    data_dir: PathBuf,
    /// Where emails go: `.eml` files in <data-dir>/outbox, or SES (which
    /// needs MAIL_FROM and STAFF_INBOX set as the notifier function has them).
    #[arg(long, env = "FRONTDESK_MAILER", value_enum, default_value_t = MailerKind::Outbox)]
    mailer: MailerKind,
    /// Leave bookings younger than this many minutes to the stream, which
    /// is most likely notifying them now.
    #[arg(long, default_value_t = frontdesk_shared::notify::sweep::SWEEP_AFTER_MINUTES)]
    older_than_minutes: u64,
    /// List the bookings that owe emails, and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Send nothing; list every email of the last `--days` days that is
    /// owed, held, failed, bounced, complained of, rejected or undelivered
    /// (reference, kind, state, time; nothing personal), and exit 1 when
    /// any staff email is among them.
    #[arg(long, conflicts_with = "dry_run")]
    status: bool,
    /// How many days back `--status` looks.
    #[arg(long, default_value_t = 30, requires = "status")]
    days: u32,
}

#[derive(Debug, Parser)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FRONTDESK_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Where the embedded store keeps its data.
    #[arg(long, env = "FRONTDESK_DATA_DIR", default_value = ".frontdesk")]
    data_dir: PathBuf,
    /// Which store to use.
    #[arg(long, env = "FRONTDESK_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,
    /// Where emails go: `.eml` files in <data-dir>/outbox, or SES.
    #[arg(long, env = "FRONTDESK_MAILER", value_enum, default_value_t = MailerKind::Outbox)]
    mailer: MailerKind,
    /// The content folder, checked and loaded into the embedded store at start.
    #[arg(long, env = "FRONTDESK_CONTENT_DIR", default_value = "content")]
    content_dir: PathBuf,
    /// The example site's folder, served at `/` when it exists.
    #[arg(long, env = "FRONTDESK_SITE_DIR", default_value = "site")]
    site_dir: PathBuf,
    /// The API's base URL as the site's pages call it; empty for the origin
    /// that serves them (set it to try the site on one origin and the API
    /// on another).
    #[arg(long, env = "FRONTDESK_SITE_API", default_value = "")]
    site_api: String,
    /// The site key of a Cloudflare Turnstile widget for the example form's
    /// human check (its secret is the booking API's TURNSTILE_SECRET);
    /// empty: no widget.
    #[arg(long, env = "TURNSTILE_SITE_KEY", default_value = "")]
    turnstile_site_key: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = if cli.verbose {
        tracing_subscriber::EnvFilter::new(
            "info,frontdesk=debug,frontdesk_cli=debug,frontdesk_shared=debug",
        )
    } else {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let result = match cli.command {
        Some(Command::Serve(args)) => run_serve(args).await,
        None => run_serve(ServeArgs::parse_from(["serve"])).await,
        Some(Command::Content {
            command: ContentCommand::Check { dir },
        }) => check_content(&dir),
        Some(Command::Content {
            command:
                ContentCommand::Push {
                    dir,
                    store,
                    data_dir,
                },
        }) => push_content(&dir, store, &data_dir).await,
        Some(Command::Notify(args)) => run_notify(args).await,
        Some(Command::Alarms {
            command: AlarmsCommand::SmokeTest { stack, stage },
        }) => frontdesk_cli::alarms::smoke_test(&stack, &stage)
            .map(|steps| print!("{steps}"))
            .map_err(|e| e.to_string()),
        Some(Command::Openapi { dir, out }) => write_openapi(&dir, out.as_deref()),
        Some(Command::Tables {
            command: TablesCommand::Create,
        }) => create_tables().await,
        Some(Command::Tables {
            command: TablesCommand::Backfill,
        }) => backfill_desk().await,
        Some(Command::Subject {
            command: SubjectCommand::Export(args),
        }) => export_subject(args).await,
        Some(Command::Subject {
            command:
                SubjectCommand::Erase {
                    subject,
                    reason,
                    yes,
                },
        }) => erase_subject(subject, &reason, yes).await,
        Some(Command::Subject {
            command: SubjectCommand::WithdrawMarketing { subject, channel },
        }) => withdraw_marketing(subject, &channel).await,
        Some(Command::Staff { user_pool, command }) => {
            let staff = frontdesk_cli::staff::Staff::new(&user_pool).await;
            match command {
                StaffCommand::Add { email, role } => staff.add(&email, role).await,
                StaffCommand::Remove { email } => staff.remove(&email).await,
            }
            .map(|done| println!("{done}"))
            .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("frontdesk: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn backfill_desk() -> Result<(), String> {
    let config = BookingConfig::from_env().map_err(|e| e.to_string())?;
    let desk = frontdesk_shared::DeskConfig::from_env().map_err(|e| e.to_string())?;
    let client = frontdesk_shared::aws::dynamodb_client(tables::CONTROL_TIMEOUT).await;
    let moved = frontdesk_shared::store::dynamodb::DynamoBookingStore::new(
        client,
        &config.bookings_table,
        &config.guards_table,
    )
    .desk(
        &desk.audit_table,
        desk.audit_retention,
        frontdesk_shared::time_source::Clock::system(),
    )
    .backfill()
    .await
    .map_err(|e| format!("{}: {e}", config.bookings_table))?;
    println!(
        "{}: {moved} booking(s) put in the desk's inbox as new",
        config.bookings_table
    );
    // The subject tags are HMACs under the stack's match key: without it,
    // say how to add them.
    match &config.match_key_secret {
        Some(secret) => {
            let sdk = frontdesk_shared::aws::load(config.store_timeout).await;
            let key = frontdesk_shared::aws::match_key(&sdk, secret)
                .await
                .map_err(|e| e.to_string())?;
            let client = frontdesk_shared::aws::dynamodb_client_on(&sdk);
            let store = frontdesk_shared::store::dynamodb::DynamoBookingStore::new(
                client,
                &config.bookings_table,
                &config.guards_table,
            )
            .with_marketing_table(&config.marketing_table);
            let tagged = frontdesk_shared::store::SubjectIndex::tag_untagged(&store, &key)
                .await
                .map_err(|e| format!("{}: {e}", config.bookings_table))?;
            println!(
                "{}: {tagged} booking(s) given the subject tags that find them for an export or an erasure",
                config.bookings_table
            );
            let registered = store
                .register_missing(&key, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| format!("{}: {e}", config.marketing_table))?;
            println!(
                "{}: {registered} opt-in(s) to the clinic's news registered from their bookings",
                config.marketing_table
            );
        }
        None => println!(
            "{}: set MATCH_KEY_SECRET to the stack's MatchKeySecret to also give bookings stored before the subject indexes their tags, and register their opt-ins to the clinic's news",
            config.bookings_table
        ),
    }
    Ok(())
}

async fn run_serve(args: ServeArgs) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut notifier_config = NotifierConfig::local_from_env().map_err(|e| e.to_string())?;
    // The staff summary links to this server's desk unless told otherwise.
    if std::env::var("DESK_URL").map_or(true, |v| v.trim().is_empty()) {
        notifier_config.desk_url = Some(format!("http://{address}"));
    }
    let notifier_config = Arc::new(notifier_config);
    let site = if args.site_dir.is_dir() {
        Some(
            Site::new(args.site_dir.clone(), &args.site_api)
                .and_then(|site| site.with_human_check(&args.turnstile_site_key))
                .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    let (mut config, content_config, store) = open(args.store, &args.data_dir).await?;
    // The example site's pages are this server's own: their bookings come
    // from its origin unless ALLOWED_ORIGINS says otherwise.
    if std::env::var("ALLOWED_ORIGINS").map_or(true, |v| v.trim().is_empty()) {
        config.allowed_origins = vec![
            format!("http://{address}"),
            format!("http://localhost:{}", address.port()),
        ];
    }
    // The embedded store serves the folder as it is now; a DynamoDB table
    // holds what was last pushed to it, and is left as it is.
    let content_note = match args.store {
        StoreKind::Embedded => {
            let loaded = content::check(&args.content_dir).map_err(|problems| report(&problems))?;
            let pushed = frontdesk_shared::content::push(
                store.content.as_ref(),
                &loaded,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| e.to_string())?;
            tracing::debug!(%pushed, "content loaded");
            format!("{} ({})", args.content_dir.display(), Summary(&loaded))
        }
        StoreKind::Dynamodb => format!(
            "DynamoDB table {} (frontdesk content push --store dynamodb loads it)",
            content_config.content_table
        ),
    };
    if let Some(embedded) = store.embedded.clone() {
        serve::expire_hourly(
            embedded,
            args.data_dir.clone(),
            frontdesk_shared::time_source::Clock::system(),
        );
    }
    let match_key = Arc::new(serve::local_match_key(&args.data_dir).map_err(|e| e.to_string())?);
    // Bookings this folder kept before the subject tags get them, so that
    // an export or an erasure finds them (in DynamoDB: `tables backfill`).
    if args.store == StoreKind::Embedded {
        store
            .subjects
            .tag_untagged(&match_key)
            .await
            .map_err(|e| e.to_string())?;
    }
    let rights = serve::rights(
        &store,
        &content_config,
        Arc::clone(&match_key),
        args.store,
        &args.data_dir,
    );
    let notifier = notify::notifier(
        args.mailer,
        &args.data_dir,
        store.notices,
        store.acknowledgements,
        Arc::clone(&notifier_config),
        Arc::clone(&store.content),
        &content_config,
    )
    .await;
    let announcer = notify::Announcer::start(notifier);
    let bookings = Arc::new(NotifyingStore::new(store.bookings, announcer.clone()));
    println!("frontdesk is serving on http://{address}");
    println!("  bookings: POST http://{address}/v1/bookings");
    match args.store {
        StoreKind::Embedded => println!(
            "  bookings are kept in {}",
            serve::database_path(&args.data_dir).display()
        ),
        StoreKind::Dynamodb => println!(
            "  bookings are kept in DynamoDB tables {} and {}",
            config.bookings_table, config.guards_table
        ),
    }
    match args.mailer {
        MailerKind::Outbox => println!(
            "  emails are written to {}",
            notify::outbox_path(&args.data_dir).display()
        ),
        MailerKind::Ses => println!(
            "  emails are sent through SES from {}",
            notifier_config.mail_from.as_str()
        ),
    }
    println!("  content: GET http://{address}/v1/conditions and more, from {content_note}");
    match &site {
        Some(site) => println!(
            "  example site: http://{address}/ and /book, from {}",
            site.dir().display()
        ),
        None => println!(
            "  example site: none ({} is not a folder)",
            args.site_dir.display()
        ),
    }
    // The desk signs in the person at the keyboard with a link that works
    // once; its secret is in the fragment, which no request carries.
    let (sign_in, secret) =
        frontdesk_desk::local::LocalSignIn::new().map_err(|e| format!("no randomness: {e}"))?;
    println!("  staff desk: sign in once at http://{address}/desk/sign-in#{secret}");
    let desk_config = frontdesk_shared::DeskConfig::from_env().map_err(|e| e.to_string())?;
    let desk = serve::desk(
        Arc::new(notify::NotifyingDesk::new(store.desk, announcer)),
        serve::consultants(&store.content, &content_config),
        rights,
        desk_config,
        frontdesk_shared::time_source::Clock::system(),
        &sign_in,
    );
    let app = serve::app(
        bookings,
        config,
        store.content,
        &content_config,
        site,
        Some(desk),
        match_key,
    );
    serve::run(listener, app).await.map_err(|e| e.to_string())
}

async fn report_status(args: &NotifyArgs) -> Result<(), String> {
    // Only the grace period (STAFF_DELIVERY_ALARM_MINUTES) is read: no
    // mail is sent, so no sender or inbox is needed.
    let config = NotifierConfig::local_from_env().map_err(|e| e.to_string())?;
    let grace =
        time::Duration::try_from(config.staff_delivery_alarm_after).map_err(|e| e.to_string())?;
    let (_, _, store) = open(args.store, &args.data_dir).await?;
    let now = time::OffsetDateTime::now_utc();
    let states = store
        .notices
        .email_states(now - time::Duration::days(i64::from(args.days)), now)
        .await
        .map_err(|e| e.to_string())?;
    let lines = frontdesk_cli::status::report(&states, now, grace);
    for line in &lines {
        println!(
            "  {}  {:<8} {:<40} since {}",
            line.reference,
            line.notice,
            line.trouble.to_string(),
            line.at
        );
    }
    let staff = lines
        .iter()
        .filter(|l| l.notice == frontdesk_shared::notify::Notice::Staff)
        .count();
    println!(
        "{} booking(s) over the last {} days: {} email(s) need attention, {} of them to staff",
        states.len(),
        args.days,
        lines.len(),
        staff
    );
    if staff > 0 {
        return Err(format!(
            "{staff} staff email(s) need attention: staff may not know of those requests"
        ));
    }
    Ok(())
}

async fn run_notify(args: NotifyArgs) -> Result<(), String> {
    if args.status {
        return report_status(&args).await;
    }
    // Real mail must come from the deployment's own settings, never from
    // the local defaults, which SES would refuse for good.
    let notifier_config = match args.mailer {
        MailerKind::Outbox => NotifierConfig::local_from_env(),
        MailerKind::Ses => NotifierConfig::from_env(),
    }
    .map(Arc::new)
    .map_err(|e| e.to_string())?;
    let (_, content_config, store) = open(args.store, &args.data_dir).await?;
    let notifier = notify::notifier(
        args.mailer,
        &args.data_dir,
        store.notices,
        store.acknowledgements,
        notifier_config,
        store.content,
        &content_config,
    )
    .await;
    let older_than = std::time::Duration::from_secs(args.older_than_minutes.saturating_mul(60));
    if args.dry_run {
        let owed = notifier.owed(older_than).await.map_err(|e| e.to_string())?;
        for booking in &owed.bookings {
            println!(
                "  {}: received {}",
                booking.reference,
                frontdesk_shared::booking::record::rfc3339(booking.received_at)
            );
        }
        println!(
            "{} booking(s) owe emails; nothing sent (dry run)",
            owed.bookings.len()
        );
        for reference in &owed.unreadable {
            println!("  {reference}: stored, but could not be read; skipped until repaired");
        }
        return Ok(());
    }
    let done = notify::sweep(&notifier, older_than)
        .await
        .map_err(|e| e.to_string())?;
    println!("{done}");
    if done.owed_after() > 0 {
        return Err(format!(
            "{} email(s) still owed ({} held by the account or its set-up); run frontdesk notify again later",
            done.owed_after(),
            done.held
        ));
    }
    Ok(())
}

/// The settings every command with a store reads, and the store `kind` names.
async fn open(
    kind: StoreKind,
    data_dir: &std::path::Path,
) -> Result<(BookingConfig, ContentConfig, serve::LocalStore), String> {
    let config = BookingConfig::from_env().map_err(|e| e.to_string())?;
    let content_config = ContentConfig::from_env().map_err(|e| e.to_string())?;
    let desk_config = frontdesk_shared::DeskConfig::from_env().map_err(|e| e.to_string())?;
    let store = serve::open_store(kind, data_dir, &config, &content_config, &desk_config)
        .await
        .map_err(|e| e.to_string())?;
    Ok((config, content_config, store))
}

async fn export_subject(args: SubjectArgs) -> Result<(), String> {
    let query = args.query()?;
    let (store, key) = args.open().await?;
    let out = args
        .out
        .unwrap_or_else(|| serve::exports_path(&args.data_dir));
    let written = frontdesk_cli::subject::export_to(
        &store,
        &key,
        &query,
        &args.by,
        &out,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    println!(
        "{} booking(s) exported to {} and {}",
        written.bookings,
        written.json.display(),
        written.html.display()
    );
    Ok(())
}

/// Each opt-in on a line of its own: its channel, when and with which
/// booking it was given (no address).
fn print_opt_ins(opt_ins: &[frontdesk_shared::rights::OptIn]) {
    for opt_in in opt_ins {
        println!(
            "  {} (given {} with {})",
            opt_in.channel.as_str(),
            frontdesk_shared::london::short(opt_in.given_at),
            opt_in.reference
        );
    }
}

async fn withdraw_marketing(args: SubjectArgs, channel: &str) -> Result<(), String> {
    use frontdesk_shared::rights::Channel;
    let channels: Vec<Channel> = match channel {
        "all" => Channel::ALL.to_vec(),
        one => vec![Channel::parse(one)
            .ok_or_else(|| format!("--channel {one:?}: use email, sms or all"))?],
    };
    let query = args.query()?;
    // A channel is found by its own identifier: say which cannot be.
    for channel in &channels {
        let missing = match channel {
            Channel::Email if query.email.is_none() => Some("--email"),
            Channel::Sms if query.phone.is_none() => Some("--phone"),
            _ => None,
        };
        if let Some(option) = missing {
            println!(
                "{}: not searched (give {option} to withdraw it)",
                channel.as_str()
            );
        }
    }
    let (store, key) = args.open().await?;
    let done =
        frontdesk_cli::subject::withdraw_marketing(&store, &key, &query, &channels, &args.by)
            .await?;
    println!(
        "{} opt-in(s) to the clinic's news withdrawn",
        done.removed.len()
    );
    print_opt_ins(&done.removed);
    Ok(())
}

async fn erase_subject(args: SubjectArgs, reason: &str, yes: bool) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc();
    let folders = serve::erasure_folders(args.store, &args.data_dir);
    let backups_until = serve::backups_kept(args.store).map(|kept| now + kept);
    // Every option is checked before the store is opened.
    let request =
        frontdesk_cli::subject::erasure_request(args.query()?, &args.by, reason, backups_until)?;
    let (store, key) = args.open().await?;
    if !yes {
        let found = frontdesk_shared::rights::find(
            store.subjects.as_ref(),
            store.bookings.as_ref(),
            &key,
            &request.query,
        )
        .await
        .map_err(|e| format!("the store could not be read: {e}"))?;
        println!("{} booking(s) would be erased:", found.len());
        for booking in &found {
            println!(
                "  {}  received {}  found by {}{}",
                booking.reference,
                frontdesk_shared::london::short(booking.received_at),
                booking.matched_by.join(" and "),
                if booking.for_someone_else {
                    "  (booked for someone else: their details go too)"
                } else {
                    ""
                }
            );
        }
        let opt_ins = frontdesk_shared::rights::Found::opt_ins(
            &found,
            store.marketing.as_ref(),
            &request.query,
            &key,
        )
        .await
        .map_err(|e| format!("the marketing register could not be read: {e}"))?;
        println!(
            "{} opt-in(s) to the clinic's news would be removed:",
            opt_ins.len()
        );
        print_opt_ins(&opt_ins);
        return Err(
            "nothing erased: check that each is this person's (a phone or an inbox may be shared), then run again with --yes"
                .into(),
        );
    }
    let (done, files) =
        frontdesk_cli::subject::erase_from(&store, &key, &request, &folders).await?;
    println!("{} booking(s) erased:", done.erased.len());
    for entry in &done.erased {
        if let Some(reference) = &entry.reference {
            println!("  {reference}");
        }
    }
    println!(
        "{} opt-in(s) to the clinic's news removed from the marketing register",
        done.opt_ins.len()
    );
    println!(
        "{files} file(s) about them removed from {}",
        folders
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    );
    println!("Not erased, for your answer to the person:");
    for line in &done.not_erased {
        println!("  - {line}");
    }
    match &done.stopped {
        None => Ok(()),
        Some(stopped) => Err(format!("{} ({})", stopped.explained(), stopped.error)),
    }
}

/// Prints each problem on its own line, and says how many there were.
fn report(problems: &[frontdesk_shared::content::source::Diagnostic]) -> String {
    for problem in problems {
        eprintln!("{problem}");
    }
    format!("{} problem(s) in the content", problems.len())
}

fn check_content(dir: &std::path::Path) -> Result<(), String> {
    let loaded = content::check(dir).map_err(|problems| report(&problems))?;
    println!("{} is valid: {}", dir.display(), Summary(&loaded));
    Ok(())
}

fn write_openapi(dir: &std::path::Path, out: Option<&std::path::Path>) -> Result<(), String> {
    let loaded = content::check(dir).map_err(|problems| report(&problems))?;
    let doc = frontdesk_shared::contract::for_content(&loaded);
    let text = frontdesk_shared::contract::to_json(&doc)
        .map_err(|e| format!("the OpenAPI document could not be written as JSON: {e}"))?;
    match out {
        None => print!("{text}"),
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| format!("could not write {}: {e}", path.display()))?;
            println!(
                "wrote {} for the content in {}",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

async fn push_content(
    dir: &std::path::Path,
    kind: StoreKind,
    data_dir: &std::path::Path,
) -> Result<(), String> {
    let (_, content_config, store) = open(kind, data_dir).await?;
    let pushed =
        match content::push(dir, store.content.as_ref(), time::OffsetDateTime::now_utc()).await {
            Ok(pushed) => pushed,
            Err(PushError::Invalid(problems)) => return Err(report(&problems)),
            Err(e) => return Err(e.to_string()),
        };
    let target = match kind {
        StoreKind::Embedded => serve::database_path(data_dir).display().to_string(),
        StoreKind::Dynamodb => format!("DynamoDB table {}", content_config.content_table),
    };
    println!("pushed {} to {target}: {pushed}", dir.display());
    Ok(())
}

async fn create_tables() -> Result<(), String> {
    let config = BookingConfig::from_env().map_err(|e| e.to_string())?;
    let content_config = ContentConfig::from_env().map_err(|e| e.to_string())?;
    let desk_config = frontdesk_shared::DeskConfig::from_env().map_err(|e| e.to_string())?;
    // Creating a table is slower than reading an item: on a busy machine
    // DynamoDB Local can take seconds to answer a first CreateTable.
    let client = frontdesk_shared::aws::dynamodb_client(tables::CONTROL_TIMEOUT).await;
    // A table that differs is named and left alone, and the others are
    // still made; any other error stops the command where it happened.
    let mut differ = Vec::new();
    for (id, name) in [
        (tables::BOOKINGS, &config.bookings_table),
        (tables::GUARDS, &config.guards_table),
        (tables::CONTENT, &content_config.content_table),
        (tables::AUDIT, &desk_config.audit_table),
        (tables::MARKETING, &config.marketing_table),
    ] {
        match tables::ensure(&client, id, name).await {
            Ok(ensured) => println!("{name} ({id} in infra/template.yaml): {ensured}"),
            Err(e @ tables::TableError::Differs { .. }) => differ.push(e.to_string()),
            Err(e) => return Err(e.to_string()),
        }
    }
    if differ.is_empty() {
        Ok(())
    } else {
        Err(differ.join("\nfrontdesk: "))
    }
}
