{{ journeymap.stage_tracking_events(source('tracking', 'app_events'), 'app') }}
