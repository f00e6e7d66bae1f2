namespace SparkControl.Core.Swaps;

/// <summary>How draining went: requests running when it began, and those still running when it ended.</summary>
public sealed record DrainResult(int InFlight, int StillRunning);

/// <summary>
/// What stands between clients and the model during a swap. The gateway holds new requests for the Sparks and lets
/// running ones finish (bounded in time); after the swap ends, held requests go to whatever serves then.
/// </summary>
public interface IDrainGate
{
    Task<DrainResult> DrainAsync(IReadOnlyCollection<string> sparks, TimeSpan timeout, CancellationToken cancellationToken);

    void Release(IReadOnlyCollection<string> sparks);
}

/// <summary>No gateway in front of the model servers: nothing to hold, nothing to wait for.</summary>
public sealed class NoDrainGate : IDrainGate
{
    public Task<DrainResult> DrainAsync(IReadOnlyCollection<string> sparks, TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.FromResult(new DrainResult(0, 0));

    public void Release(IReadOnlyCollection<string> sparks)
    {
    }
}
