{{ journeymap.stage_tracking_events(source('tracking', 'web_events'), 'web') }}
