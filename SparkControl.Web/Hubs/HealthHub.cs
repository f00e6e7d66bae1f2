using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR;
using SparkControl.Core.Operations;
using SparkControl.Core.Services;
using SparkControl.Web.Model;

namespace SparkControl.Web.Hubs;

/// <summary>
/// <c>/hubs/health</c>: outside tools follow health without polling. The streaming method <c>Watch</c> sends the same
/// board as <c>GET /api/services</c> first, then the board again whenever a service changes (a check that changes
/// nothing but its time is not sent).
/// </summary>
public sealed class HealthHub(HealthMonitor health) : Hub
{
    public const string Path = "/hubs/health";

    public async IAsyncEnumerable<ServiceInput.ServiceView[]> Watch([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IReadOnlyList<ServiceHealth>? sent = null;
        await foreach (var update in health.WatchAsync(cancellationToken))
        {
            var services = update.Value.Sparks.SelectMany(s => s.Services).ToList();
            if (sent is not null && FleetEventFeed.SameServices(sent, services))
            {
                continue;
            }

            sent = services;
            yield return [.. services.Select(ServiceInput.View)];
        }
    }
}
