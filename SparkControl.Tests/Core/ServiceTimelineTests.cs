using SparkControl.Core.Services;

namespace SparkControl.Tests.Core;

public sealed class ServiceTimelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Timeline_ChangesInsideTheWindow_MakeSegmentsFromTheStatusBefore()
    {
        var from = T0;
        var to = T0.AddHours(24);
        var changes = new[]
        {
            new ServiceStatusChange("spark-1", "asr", T0.AddHours(-2), HealthStatus.Healthy, "answering"),
            new ServiceStatusChange("spark-1", "asr", T0.AddHours(3), HealthStatus.Down, "container exited (137)"),
            new ServiceStatusChange("spark-1", "asr", T0.AddHours(3.5), HealthStatus.Loading, "starting"),
            new ServiceStatusChange("spark-1", "asr", T0.AddHours(4), HealthStatus.Healthy, "answering"),
        };

        var segments = ServiceTimeline.Build(changes, from, to);

        Assert.Equal(
            [(HealthStatus.Healthy, 0.0, 3.0), (HealthStatus.Down, 3.0, 3.5), (HealthStatus.Loading, 3.5, 4.0), (HealthStatus.Healthy, 4.0, 24.0)],
            segments.Select(s => (s.Status, (s.From - T0).TotalHours, (s.To - T0).TotalHours)));
        Assert.Equal("container exited (137)", segments[1].Reason);
    }

    [Fact]
    public void Timeline_NoRecordBeforeTheFirstChange_IsUnknown()
    {
        var segments = ServiceTimeline.Build([new ServiceStatusChange("spark-1", "asr", T0.AddHours(6), HealthStatus.Healthy, "answering")], T0, T0.AddHours(24));

        Assert.Equal([HealthStatus.Unknown, HealthStatus.Healthy], segments.Select(s => s.Status));
        Assert.Equal(T0.AddHours(6), segments[0].To);
    }

    [Fact]
    public void Timeline_NoChangesAtAll_IsOneUnknownSegment()
    {
        var segment = Assert.Single(ServiceTimeline.Build([], T0, T0.AddHours(24)));

        Assert.Equal(HealthStatus.Unknown, segment.Status);
        Assert.Equal(TimeSpan.FromHours(24), segment.To - segment.From);
    }
}
