//! Face sign-ins in the database (issue 16): what a sign-in has established
//! between requests (the IIN, consent, tries, the capture's challenges and
//! counters), each analysed frame's measurements, and the recent captures'
//! signatures the replay check compares against, so that any instance behind
//! a balancer can take any request of a sign-in and a restart loses nothing
//! but the frames in flight. Every value is sealed by the service
//! (AES-256-GCM, bound to its row); rows expire with the sign-in.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FaceSignIns {
    Table,
    /// The interaction's id.
    Id,
    /// The sealed state.
    State,
    /// Bumped by every write: a write names the version it read.
    Version,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum FaceFrames {
    Table,
    Id,
    SignInId,
    /// Which capture (try) of the sign-in the frame belongs to.
    Capture,
    /// Arrival, ms from the capture's start.
    AtMs,
    /// The sealed measurements.
    Analysis,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum FaceCapturesSeen {
    Table,
    /// Grows with each capture: instances read what is newer than they saw.
    Seq,
    At,
    /// The capture's sealed frame signatures.
    Signatures,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(FaceSignIns::Table)
                .col(string(FaceSignIns::Id).primary_key())
                .col(text(FaceSignIns::State))
                .col(big_integer(FaceSignIns::Version))
                .col(timestamp_with_time_zone(FaceSignIns::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_face_sign_ins_expires_at").table(FaceSignIns::Table).col(FaceSignIns::ExpiresAt).to_owned()).await?;
        m.create_table(
            Table::create()
                .table(FaceFrames::Table)
                .col(string(FaceFrames::Id).primary_key())
                .col(string(FaceFrames::SignInId))
                .col(big_integer(FaceFrames::Capture))
                .col(big_integer(FaceFrames::AtMs))
                .col(text(FaceFrames::Analysis))
                .col(timestamp_with_time_zone(FaceFrames::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_face_frames_sign_in").table(FaceFrames::Table).col(FaceFrames::SignInId).col(FaceFrames::Capture).to_owned())
            .await?;
        m.create_index(Index::create().name("idx_face_frames_expires_at").table(FaceFrames::Table).col(FaceFrames::ExpiresAt).to_owned()).await?;
        m.create_table(
            Table::create()
                .table(FaceCapturesSeen::Table)
                .col(big_integer(FaceCapturesSeen::Seq).primary_key().auto_increment())
                .col(timestamp_with_time_zone(FaceCapturesSeen::At))
                .col(text(FaceCapturesSeen::Signatures))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_face_captures_seen_at").table(FaceCapturesSeen::Table).col(FaceCapturesSeen::At).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(FaceCapturesSeen::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(FaceFrames::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(FaceSignIns::Table).to_owned()).await
    }
}
