using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;

namespace SparkControl.Tests.Core;

public sealed class HealthClassifierTests
{
    private static ProbeResult Probe(ProbeOutcome outcome, int? status = null, bool? live = null, params string[] models) =>
        new(outcome, status, status is null ? null : $"{status} Status", TimeSpan.FromMilliseconds(5)) { ServedModels = [.. models], Live = live };

    public static TheoryData<ServiceKind, bool, ContainerStatus?, ProbeResult?, string?, HealthStatus, string> Cases => new()
    {
        { ServiceKind.VllmLlm, true, ContainerStatus.Running, Probe(ProbeOutcome.Refused), "m", HealthStatus.Loading, "port not open yet" },
        { ServiceKind.VllmLlm, true, ContainerStatus.Running, Probe(ProbeOutcome.Ok, 200, null, "m"), "m", HealthStatus.Healthy, "serving m" },
        { ServiceKind.VllmLlm, true, ContainerStatus.Running, Probe(ProbeOutcome.Ok, 200, null, "other"), "m", HealthStatus.Degraded, "expected m" },
        { ServiceKind.VllmLlm, true, ContainerStatus.Running, Probe(ProbeOutcome.HttpError, 503), "m", HealthStatus.Down, "engine dead" },
        { ServiceKind.VllmLlm, true, ContainerStatus.Running, Probe(ProbeOutcome.Timeout), "m", HealthStatus.Degraded, "timed out" },
        { ServiceKind.VllmLlm, true, ContainerStatus.Exited, null, "m", HealthStatus.Down, "exited" },
        { ServiceKind.VllmLlm, true, null, null, "m", HealthStatus.Down, "container not found" },
        { ServiceKind.Nim, true, ContainerStatus.Running, Probe(ProbeOutcome.HttpError, 503, live: true), null, HealthStatus.Loading, "model not ready" },
        { ServiceKind.Nim, true, ContainerStatus.Running, Probe(ProbeOutcome.HttpError, 503, live: false), null, HealthStatus.Loading, "not ready yet" },
        { ServiceKind.Nim, true, ContainerStatus.Running, Probe(ProbeOutcome.Ok, 200), null, HealthStatus.Healthy, "answering" },
        { ServiceKind.Qdrant, true, ContainerStatus.Running, Probe(ProbeOutcome.Ok, 200), null, HealthStatus.Healthy, "answering" },
        { ServiceKind.OpenWebUi, false, null, Probe(ProbeOutcome.Refused), null, HealthStatus.Down, "connection refused" },
        { ServiceKind.ParakeetAsr, true, ContainerStatus.Running, Probe(ProbeOutcome.HttpError, 500), null, HealthStatus.Degraded, "answered 500" },
        { ServiceKind.Tts, true, ContainerStatus.Restarting, null, null, HealthStatus.Degraded, "restarting" },
        { ServiceKind.Tts, true, ContainerStatus.Paused, null, null, HealthStatus.Degraded, "paused" },
        { ServiceKind.Embeddings, true, ContainerStatus.Created, null, null, HealthStatus.Down, "not started" },
        { ServiceKind.Other, true, ContainerStatus.Running, null, null, HealthStatus.Healthy, "no probe configured" },
        { ServiceKind.Other, false, null, null, null, HealthStatus.Unknown, "nothing to check" },
        { ServiceKind.Other, false, null, Probe(ProbeOutcome.Failed), null, HealthStatus.Degraded, "failed" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classify_Table(ServiceKind kind, bool expectsContainer, ContainerStatus? container, ProbeResult? probe, string? served, HealthStatus status, string reason)
    {
        var (actualStatus, actualReason) = HealthClassifier.Classify(kind, expectsContainer, container, probe, served);

        Assert.Equal(status, actualStatus);
        Assert.Contains(reason, actualReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_OomKilledContainer_SaysSo()
    {
        var info = new ContainerInfo { Id = "x", Name = "m", Image = "i", Status = ContainerStatus.Exited, ExitCode = 137, OomKilled = true };

        var (status, reason) = HealthClassifier.Classify(ServiceKind.VllmLlm, true, ContainerStatus.Exited, null, "m", info);

        Assert.Equal(HealthStatus.Down, status);
        Assert.Contains("out of memory", reason, StringComparison.Ordinal);
        Assert.Contains("137", reason, StringComparison.Ordinal);
    }
}
