using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Remote;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class ConnectionChip
{
    [Parameter]
    public ConnectionState State { get; set; }

    [Parameter]
    public string? Error { get; set; }

    private static Color ColorOf(ConnectionState state) => state switch
    {
        ConnectionState.Connected => Color.Success,
        ConnectionState.HostKeyNotApproved => Color.Warning,
        ConnectionState.Unknown => Color.Default,
        _ => Color.Error,
    };

    private static string Text(ConnectionState state) => state switch
    {
        ConnectionState.Connected => "connected",
        ConnectionState.Unreachable => "unreachable",
        ConnectionState.CircuitOpen => "circuit open",
        ConnectionState.HostKeyNotApproved => "host key to approve",
        ConnectionState.HostKeyChanged => "host key changed",
        ConnectionState.AuthenticationFailed => "login refused",
        _ => "not tried yet",
    };
}
