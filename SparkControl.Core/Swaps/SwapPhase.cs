using System.Collections.Frozen;

namespace SparkControl.Core.Swaps;

/// <summary>
/// Where a swap is. The working phases run in this order (Downloading only when the weights are missing); Ready,
/// Failed, Cancelled and Interrupted end a swap.
/// </summary>
public enum SwapPhase
{
    Requested,
    Preflight,
    Downloading,
    Draining,
    Stopping,
    Launching,
    Loading,
    Verifying,
    Ready,
    Failed,
    Cancelled,
    Interrupted,
}

/// <summary>A transition the table does not allow: a bug in the orchestrator, never an operator's mistake.</summary>
public sealed class IllegalSwapTransitionException(SwapPhase from, SwapPhase to)
    : InvalidOperationException($"A swap cannot go from {from} to {to}.")
{
    public SwapPhase From { get; } = from;
    public SwapPhase To { get; } = to;
}

/// <summary>The transition table of a swap.</summary>
public static class SwapTransitions
{
    private static readonly SwapPhase[] Ends = [SwapPhase.Failed, SwapPhase.Cancelled];

    /// <summary>
    /// Forward edges. Preflight may go straight to Loading when the target's container already runs (a swap to the
    /// loaded model only re-checks it, and the startup reconcile follows a start the restart interrupted); Stopping
    /// goes to Ready when nothing is to be loaded (an unload). Every working phase may fail or be cancelled; Interrupted is set only by the startup reconcile.
    /// </summary>
    private static readonly FrozenDictionary<SwapPhase, SwapPhase[]> Next = new Dictionary<SwapPhase, SwapPhase[]>
    {
        [SwapPhase.Requested] = [SwapPhase.Preflight, .. Ends],
        [SwapPhase.Preflight] = [SwapPhase.Downloading, SwapPhase.Draining, SwapPhase.Loading, .. Ends],
        [SwapPhase.Downloading] = [SwapPhase.Draining, .. Ends],
        [SwapPhase.Draining] = [SwapPhase.Stopping, .. Ends],
        [SwapPhase.Stopping] = [SwapPhase.Launching, SwapPhase.Ready, .. Ends],
        [SwapPhase.Launching] = [SwapPhase.Loading, .. Ends],
        [SwapPhase.Loading] = [SwapPhase.Verifying, .. Ends],
        [SwapPhase.Verifying] = [SwapPhase.Ready, .. Ends],
        [SwapPhase.Ready] = [],
        [SwapPhase.Failed] = [],
        [SwapPhase.Cancelled] = [],
        [SwapPhase.Interrupted] = [],
    }.ToFrozenDictionary();

    /// <summary>The working phases in the order a full swap passes them.</summary>
    public static IReadOnlyList<SwapPhase> Working { get; } =
        [SwapPhase.Preflight, SwapPhase.Downloading, SwapPhase.Draining, SwapPhase.Stopping, SwapPhase.Launching, SwapPhase.Loading, SwapPhase.Verifying];

    public static bool IsTerminal(this SwapPhase phase) => phase is SwapPhase.Ready or SwapPhase.Failed or SwapPhase.Cancelled or SwapPhase.Interrupted;

    public static bool IsAllowed(SwapPhase from, SwapPhase to) =>
        to == SwapPhase.Interrupted ? !from.IsTerminal() : Next[from].Contains(to);

    /// <summary>Throws unless <paramref name="from"/> → <paramref name="to"/> is in the table.</summary>
    public static void Ensure(SwapPhase from, SwapPhase to)
    {
        if (!IsAllowed(from, to))
        {
            throw new IllegalSwapTransitionException(from, to);
        }
    }
}
