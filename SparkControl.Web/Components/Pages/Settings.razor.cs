using Microsoft.AspNetCore.Components;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Web;

namespace SparkControl.Web.Components.Pages;

public partial class Settings
{
    private bool _writable;
    private string? _reason;

    private FleetConfiguration _fleet = FleetConfiguration.Empty;

    protected override void OnInitialized()
    {
        _writable = DataDirectory.CanWrite(out _reason);
        Watch(Fleet.Stream.WatchAsync, update => _fleet = update.Value);
    }
}
