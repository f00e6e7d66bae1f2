using SparkControl.Core.Hosts;

namespace SparkControl.Core.Gpu;

/// <summary>
/// What the pages see of one Spark's sample stream: at most one sample per <paramref name="period"/> of sample time,
/// whose utilization is the busy share of everything counted since the previous one. The ledger counts every sample;
/// this keeps a 10 Hz stream from re-rendering every open page ten times a second, and a second's figure from being one
/// tenth of it. A gap or a new start is shown at once, as it came.
/// </summary>
public sealed class LiveSampler(TimeSpan period)
{
    private DateTimeOffset? _shownAt;
    private double _busy;
    private double _observed;

    /// <summary>The sample to show for <paramref name="sample"/>, or null when it only adds to the next one.</summary>
    public GpuSample? Add(GpuSample sample, SampleCount count)
    {
        switch (count.Outcome)
        {
            case SampleOutcome.Repeated:
                return null;
            case SampleOutcome.Counted:
                _busy += count.Seconds.Busy;
                _observed += count.Seconds.Observed;
                if (_shownAt is { } shown && sample.Timestamp - shown < period)
                {
                    return null;
                }

                break;
            default:
                (_busy, _observed) = (0, 0);
                break;
        }

        var shownSample = _observed > 0 ? sample with { UtilizationPercent = 100 * _busy / _observed } : sample;
        (_shownAt, _busy, _observed) = (sample.Timestamp, 0, 0);
        return shownSample;
    }
}
