using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Gateway;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;
using SparkControl.Web.Components.Dialogs;

namespace SparkControl.Web.Components.Pages;

public partial class Dashboard
{
    [Inject]
    public required Caller Caller { get; init; }

    /// <summary>How long a swap that ended well stays on the dashboard; failures stay until dismissed.</summary>
    private static readonly TimeSpan ShowFinished = TimeSpan.FromMinutes(10);

    private readonly HashSet<string> _dismissed = [];
    /// <summary>What the cards show: what each Spark serves now.</summary>
    private FleetHealth? _health;
    private FleetConfiguration _fleet = FleetConfiguration.Empty;
    private SwapBoard _swaps = SwapBoard.Empty;
    private IReadOnlyList<GatewayTarget> _gatewayTargets = [];
    private IReadOnlyList<(string Name, SwapStatus Swap)> _gatewayWaiting = [];
    private GatewayTraffic _traffic = GatewayTraffic.Empty;
    private AudioLoads _audio = AudioLoads.Empty;
    private IReadOnlyList<(string Name, string Upstream, string Route)> _gatewayAudio = [];

    [Inject]
    public required FleetSources FleetSources { get; init; }

    [Inject]
    public required Core.Operations.IdleUnloader IdleUnloader { get; init; }

    [Inject]
    public required SwapOrchestrator Swaps { get; init; }

    [Inject]
    public required GatewayRoutes GatewayRoutes { get; init; }

    [Inject]
    public required ModelCatalog Catalog { get; init; }

    [Inject]
    public required GatewayGate Gateway { get; init; }

    [Inject]
    public required AudioCapacity Audio { get; init; }

    [Inject]
    public required AudioRoutes AudioRoutes { get; init; }

    [Inject]
    public required NavigationManager Navigation { get; init; }

    [Inject]
    public required TimeProvider Time { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    [Inject]
    public required ISnackbar Snackbar { get; init; }

    /// <summary>The service's entry in services.yaml (or the demo's), if it has one.</summary>
    private ServiceDefinition? DefinitionOf(ServiceHealth service) =>
        _fleet.ServicesOn(service.Spark).FirstOrDefault(s => string.Equals(s.Name, service.Name, StringComparison.OrdinalIgnoreCase));

    private IReadOnlyList<ServiceLink> LinksOf(ServiceHealth service) => DefinitionOf(service)?.Links ?? [];

    protected override void OnInitialized()
    {
        WatchFleet(FleetSources, fleet =>
        {
            _health = fleet.Now;
            _fleet = fleet.Configuration;
            _swaps = fleet.Swaps;
            Refresh();
        });
        Watch(Gateway.WatchAsync, update => _traffic = update.Value);
        Watch(Audio.WatchAsync, update => _audio = update.Value);
        RenderEvery(TimeSpan.FromSeconds(1), Time, MovesWithClock);
    }

    /// <summary>The swap cards shown at the last clock tick, so a finished swap's card leaves when its time is up.</summary>
    private string _shownAtLastTick = string.Empty;

    /// <summary>
    /// Whether the page must render again because the clock moved: an idle model's unused time counts up, and a finished
    /// swap's card leaves after <see cref="ShowFinished"/>. A running swap needs no tick of its own: its run republishes
    /// it once a second. Otherwise an open dashboard renders only when health, a swap, the fleet or the traffic changes;
    /// the GPU figures re-render on their own.
    /// </summary>
    private bool MovesWithClock()
    {
        if (_health is null)
        {
            return false;
        }

        var shown = string.Join(' ', _health.Sparks.Select(s => SwapFor(s.Spark)?.Id));
        var cardsChanged = shown != _shownAtLastTick;
        _shownAtLastTick = shown;
        return cardsChanged || _health.Sparks.Any(s => IdleUnloader.StateOf(s.Spark) is not null);
    }

    /// <summary>An audio worker's load for its card: the cap from services.yaml, the figures from the gateway (zero before its first request).</summary>
    private Controls.ServiceCard.AudioLoad? AudioOf(ServiceHealth service) =>
        DefinitionOf(service) is { Audio: not null } definition
            ? new Controls.ServiceCard.AudioLoad(definition.EffectiveMaxInFlight, _audio.ByWorker.GetValueOrDefault(definition.Key))
            : null;

    private string GatewayBaseUrl => new Uri(new Uri(Navigation.BaseUri), "v1").ToString();

    /// <summary>
    /// The gateway's routing follows the cards: recomputed with them whenever health or the swaps change, so a swap's
    /// phase reaches the Spark card, the model server's tile and the gateway card in the same render.
    /// </summary>
    /// <remarks>
    /// Health's every check rebuilds the routing table; a list whose content is what the card shows already is kept as
    /// it was, so the gateway card sees the same parameters and skips its render.
    /// </remarks>
    private void Refresh()
    {
        _gatewayTargets = RenderedFrom.Kept(_gatewayTargets, GatewayRoutes.Targets(), Controls.GatewayCard.SameTarget);
        var answered = _gatewayTargets.SelectMany(t => t.Names).ToHashSet(StringComparer.Ordinal);
        _gatewayWaiting = RenderedFrom.Kept(_gatewayWaiting, [.. GatewayRoutes.Awaited().Where(w => !answered.Contains(w.Name)).DistinctBy(w => w.Name)]);
        _gatewayAudio = RenderedFrom.Kept(_gatewayAudio, [.. AudioRoutes.Served().DistinctBy(a => a.Name).OrderBy(a => a.Upstream == a.Name ? 0 : 1).ThenBy(a => a.Name, StringComparer.Ordinal)
            .Select(a => (a.Name, a.Upstream, a.Worker.Role == SparkControl.Core.Sparks.AudioRole.Speech ? "speech" : "transcriptions"))]);
    }

    private SwapStatus? SwapFor(string spark) =>
        _swaps.BySpark.GetValueOrDefault(spark) is { } swap && !_dismissed.Contains(swap.Id)
        && (swap.IsActive || swap.Phase != SwapPhase.Ready || Time.GetUtcNow() - swap.EndedAt < ShowFinished)
            ? swap
            : null;

    private void Dismiss(SwapStatus swap) => _dismissed.Add(swap.Id);

    private async Task CancelAsync(SwapStatus swap)
    {
        if (await ConfirmDialog.AskAsync(Dialogs, $"Cancel swap {swap.Id}?", $"The swap stops in {swap.Phase}; a container it started is removed. {(swap.Phase >= SwapPhase.Stopping ? "The previous model is already stopped: nothing will be serving." : "The current model keeps serving.")}", "Cancel the swap", Color.Error))
        {
            Caller.Demand(AccessRole.Operator);
            Swaps.Cancel(swap.Id, Caller.AuditActor);
        }
    }

    private async Task BringBackAsync(SwapStatus interrupted)
    {
        if (interrupted.BringBack is not { } id || Catalog.Current.Find(id) is not { } model)
        {
            Snackbar.Add($"{interrupted.BringBack} is no longer in the catalog.", Severity.Warning);
            return;
        }

        if (await SwapDialog.AskAsync(Dialogs, model, interrupted.Target) is { } started)
        {
            Snackbar.Add($"Bringing back {model.DisplayName} (swap {started.Id}).", Severity.Info);
        }
    }

    private EventCallback<string> UnloadCallback => EventCallback.Factory.Create<string>(this, UnloadAsync);

    private async Task UnloadAsync(string spark)
    {
        if (await SwapDialog.AskAsync(Dialogs, null, spark) is { } started)
        {
            Snackbar.Add($"Unloading {spark} (swap {started.Id}).", Severity.Info);
        }
    }
}
