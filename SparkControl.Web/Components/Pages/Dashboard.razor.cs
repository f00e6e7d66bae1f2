using Microsoft.AspNetCore.Components;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;

namespace SparkControl.Web.Components.Pages;

public partial class Dashboard
{
    private FleetHealth? _health;
    private FleetConfiguration _fleet = FleetConfiguration.Empty;

    [Inject]
    public required HealthMonitor Health { get; init; }

    [Inject]
    public required SparkFleet Fleet { get; init; }

    private IReadOnlyList<ServiceLink> LinksOf(ServiceHealth service) =>
        _fleet.ServicesOn(service.Spark).FirstOrDefault(s => string.Equals(s.Name, service.Name, StringComparison.OrdinalIgnoreCase))?.Links ?? [];

    protected override void OnInitialized()
    {
        // Version 0 is the empty snapshot before the first check: keep showing the progress bar until a real one.
        Watch(Health.WatchAsync, update => _health = update.Version == 0 ? _health : update.Value);
        Watch(Fleet.Stream.WatchAsync, update => _fleet = update.Value);
    }
}
