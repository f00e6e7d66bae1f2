using SparkControl.Core.Access;
using SparkControl.Core.Audit;
using SparkControl.Core.Gpu;
using SparkControl.Core.Services;
using SparkControl.Core.Storage;
using SparkControl.Core.Swaps;

namespace SparkControl.Web.Hosting;

/// <summary>
/// <c>sparkcontrol.db</c>'s schema: the migrations each capability keeps beside its store, put together. The storage
/// layer cannot know its users, so the list is made here, where the app is composed.
/// </summary>
public static class DatabaseSchema
{
    public static StoreSchema Create() =>
        new([.. AuditLog.Migrations, .. ServiceStatusLog.Migrations, .. SwapHistory.Migrations, .. GpuLedgerStore.Migrations, .. AccessStore.Migrations, .. Core.Audio.Sweep.SweepStore.Migrations, .. Core.Audio.Transcripts.TranscriptStore.Migrations, .. Core.Vectors.Snapshots.SnapshotStore.Migrations]);
}
